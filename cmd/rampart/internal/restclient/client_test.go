package restclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
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

// TestStreams: both stream forms send the key, hand over each event or
// result in order, and turn a non-2xx answer into an *APIError.
func TestStreams(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer k", r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/sse":
			_, _ = io.WriteString(w, "data: {\"n\":1}\n\n: comment\ndata: {\"n\":2}\n\ndata: [DONE]\n\ndata: {\"n\":3}\n\n")
		case "/ndjson":
			_, _ = io.WriteString(w, "{\"result\":{\"n\":1}}\n\n{\"result\":{\"n\":2}}\n")
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":5,"message":"job: not found"}}`)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, "k")
	require.NoError(t, err)
	ctx := context.Background()

	tests := []struct {
		name, path string
		stream     func(path string, on func([]byte) error) error
	}{
		{"Stream", "/sse", func(path string, on func([]byte) error) error {
			return c.Stream(ctx, path, map[string]any{}, on)
		}},
		{"StreamJSON", "/ndjson", func(path string, on func([]byte) error) error {
			return c.StreamJSON(ctx, path, func(r json.RawMessage) error { return on(r) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			require.NoError(t, tt.stream(tt.path, func(b []byte) error { got = append(got, string(b)); return nil }))
			require.Equal(t, []string{`{"n":1}`, `{"n":2}`}, got)

			err := tt.stream("/gone", func([]byte) error { return nil })
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusNotFound, apiErr.Status)
		})
	}
}

// TestNewAndUnreachable: a URL without scheme or host is refused with the
// form wanted, and an edge that refuses connections is named as the
// likely cause.
func TestNewAndUnreachable(t *testing.T) {
	for _, bad := range []string{"127.0.0.1:8080", "localhost", "ftp://x:21", "http://"} {
		_, err := New(bad, "rk_x")
		require.ErrorContains(t, err, "want http(s)://host:port", bad)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c, err := New(srv.URL, "rk_x")
	require.NoError(t, err)
	_, err = c.Do(t.Context(), http.MethodGet, "/v1/whoami", nil, nil)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.ErrorContains(t, err, "is the stack running")
	err = c.Stream(t.Context(), "/v1/chat/completions", map[string]any{}, func([]byte) error { return nil })
	require.ErrorContains(t, err, "is the stack running")
}

// TestAPIErrorSaysTheCodeOnce: a message that starts with its code in
// words is not prefixed with the code twice; Message itself is untouched.
func TestAPIErrorSaysTheCodeOnce(t *testing.T) {
	for _, tt := range []struct {
		err  APIError
		want string
	}{
		{APIError{Status: 400, Code: "failed_precondition", Message: "failed precondition: only an active key can be rotated"},
			"400 failed_precondition: only an active key can be rotated"},
		{APIError{Status: 404, Code: "not_found", Message: `secret "/dev/x/y/z" not found`},
			`404 not_found: secret "/dev/x/y/z" not found`},
		{APIError{Status: 400, Code: "invalid_argument", Message: "name: must be 1-63 characters", Param: "name"},
			"400 invalid_argument: name: must be 1-63 characters (param name)"},
	} {
		require.Equal(t, tt.want, tt.err.Error())
	}
}
