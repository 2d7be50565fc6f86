package openai

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestJSONAnswerLength: every JSON answer carries Content-Length with its
// body's length and is never chunked, over HTTP/1.1 and HTTP/2, for bodies
// around the size net/http holds whole (below it net/http writes the field,
// above it writeJSON does).
func TestJSONAnswerLength(t *testing.T) {
	sizes := []int{0, 1, 135, wholeBody - 1, wholeBody, wholeBody + 1, 4095, 4096, 4097, 70_000}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		writeJSON(w, bytes.Repeat([]byte("a"), n), map[string]string{"x-extra": "1"})
	})
	h1 := httptest.NewServer(h)
	defer h1.Close()
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	for i, srv := range []*httptest.Server{h1, h2} {
		for _, n := range sizes {
			resp, err := srv.Client().Get(srv.URL + "/?n=" + strconv.Itoa(n))
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, i+1, resp.ProtoMajor)
			require.Len(t, body, n)
			require.Equal(t, int64(n), resp.ContentLength, "%s, %d bytes", resp.Proto, n)
			require.Equal(t, []string{strconv.Itoa(n)}, resp.Header["Content-Length"], "%s, %d bytes", resp.Proto, n)
			require.Empty(t, resp.TransferEncoding, "%s, %d bytes", resp.Proto, n)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			require.Equal(t, "1", resp.Header.Get("X-Extra"))
		}
	}
}
