package restclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer k", r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/ok":
			body, _ := io.ReadAll(r.Body)
			_, _ = w.Write(body)
		case "/bad":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"name is required","type":"invalid_request_error","param":"name","code":"invalid_argument"}}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "upstream down")
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, "k")
	require.NoError(t, err)
	ctx := context.Background()

	got, err := c.Do(ctx, http.MethodPost, "/ok", nil, map[string]string{"a": "b"})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":"b"}`, string(got))

	_, err = c.Do(ctx, http.MethodGet, "/bad", nil, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 400, apiErr.Status)
	require.Equal(t, "name", apiErr.Param)
	require.Contains(t, err.Error(), "name is required")

	_, err = c.Do(ctx, http.MethodGet, "/other", nil, nil)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "upstream down", apiErr.Message)

	_, err = New("", "k")
	require.Error(t, err)
	_, err = New(srv.URL, "")
	require.Error(t, err)
}
