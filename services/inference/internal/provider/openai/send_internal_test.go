package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendIsClientDo: send answers what http.Client.Do with the
// provider's old client (redirects never followed) answered — status,
// body, what the upstream received, and whether it failed — for plain
// answers, every redirect status with a good, an empty and an unparsable
// Location, and a base URL carrying user info.
func TestSendIsClientDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Auth-Seen", r.Header.Get("Authorization"))
		w.Header().Set("X-Accept-Seen", r.Header.Get("Accept"))
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Query().Get("loc") {
		case "good":
			w.Header().Set("Location", "/elsewhere")
		case "bad":
			w.Header().Set("Location", "http://[::1%zz]/")
		}
		code := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			code = map[string]int{"301": 301, "302": 302, "303": 303, "307": 307, "308": 308, "404": 404}[s]
		}
		w.WriteHeader(code)
		_, _ = w.Write(append([]byte("echo:"), body...))
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: srv.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	userURL := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1)
	type outcome struct {
		err                bool
		status             int
		body, auth, accept string
	}
	do := func(f func(*http.Request) (*http.Response, error), base, query string, auth []string) outcome {
		req, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions"+query, bytes.NewReader([]byte(`{"a":1}`)))
		require.NoError(t, err)
		req.Header["Content-Type"] = contentTypeJSON
		req.Header["Accept"] = acceptJSONOrSSE
		if auth != nil {
			req.Header["Authorization"] = auth
		}
		resp, err := f(req)
		if err != nil {
			return outcome{err: true}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return outcome{status: resp.StatusCode, body: string(b), auth: resp.Header.Get("X-Auth-Seen"), accept: resp.Header.Get("X-Accept-Seen")}
	}
	var cases []string
	for _, st := range []string{"", "404", "301", "302", "303", "307", "308"} {
		for _, loc := range []string{"", "good", "bad"} {
			cases = append(cases, "?status="+st+"&loc="+loc)
		}
	}
	sent, failed := 0, 0
	for _, q := range cases {
		for _, base := range []string{srv.URL, userURL} {
			for _, auth := range [][]string{nil, {"Bearer sk-1"}} {
				want := do(client.Do, base, q, auth)
				got := do(func(r *http.Request) (*http.Response, error) { return send(client.Transport, r) }, base, q, auth)
				require.Equal(t, want, got, "%s %s auth=%v", base, q, auth)
				if got.err {
					failed++
				} else {
					sent++
				}
			}
		}
	}
	require.Greater(t, sent, len(cases)) // most cases reached the upstream
	require.Positive(t, failed)          // the unparsable Locations
}

type nilBodyTransport struct{ length int64 }

func (n nilBodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, ContentLength: n.length, Header: http.Header{}}, nil
}

// TestSendNilBody: a RoundTripper's nil body is an empty one, unless it
// claims a length (an error), as with http.Client.
func TestSendNilBody(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1", bytes.NewReader(nil))
	require.NoError(t, err)
	resp, err := send(nilBodyTransport{}, req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Empty(t, b)
	_, err = send(nilBodyTransport{length: 5}, req)
	require.Error(t, err)
	_, err = (&http.Client{Transport: nilBodyTransport{length: 5}}).Do(req)
	require.Error(t, err)
}

// TestNewPostIsNewRequest: the request built from a pre-parsed URL is the
// one http.NewRequestWithContext builds from the string, for base URLs
// with and without a port, an empty port, user info, a path prefix and a
// query, and for empty and non-empty bodies.
func TestNewPostIsNewRequest(t *testing.T) {
	type view struct {
		Method, URL, Host, Proto, Body, Rewound string
		ProtoMajor, ProtoMinor                  int
		ContentLength                           int64
		Headers                                 int
		NoBody, CtxSame                         bool
	}
	look := func(ctx context.Context, r *http.Request) view {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		require.NotNil(t, r.GetBody)
		rb, err := r.GetBody()
		require.NoError(t, err)
		again, err := io.ReadAll(rb)
		require.NoError(t, err)
		return view{Method: r.Method, URL: r.URL.String(), Host: r.Host, Proto: r.Proto, Body: string(b), Rewound: string(again),
			ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, ContentLength: r.ContentLength, Headers: len(r.Header),
			NoBody: r.Body == http.NoBody, CtxSame: r.Context() == ctx}
	}
	type ctxKey struct{}
	ctx := context.WithValue(t.Context(), ctxKey{}, 1)
	for _, base := range []string{"http://127.0.0.1:8080/v1", "https://api.example.com/v1", "http://host:/v1", "http://u:p@host:1/v1",
		"http://[::1]:9/openai/v1", "http://[::1]:/v1", "https://host/v1?api-version=1"} {
		urls := parseURLs(base, "/chat/completions")
		require.NotNil(t, urls["/chat/completions"], base)
		for _, body := range [][]byte{nil, []byte(`{"model":"m"}`)} {
			want, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", bytes.NewReader(body))
			require.NoError(t, err)
			got, err := newPost(ctx, urls["/chat/completions"], "", body)
			require.NoError(t, err)
			require.Equal(t, look(ctx, want), look(ctx, got), base)
			require.Equal(t, want.URL, got.URL, base)
		}
	}
	// A base URL that does not parse is left to NewRequest, which fails.
	require.Empty(t, parseURLs("http://[::1%zz]/v1", "/chat/completions"))
	_, err := newPost(ctx, nil, "http://[::1%zz]/v1/chat/completions", nil)
	require.Error(t, err)
}
