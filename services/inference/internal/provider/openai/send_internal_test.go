package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retry"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
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

// headerRecorder records the header maps of the requests it sees and
// answers an empty completion.
type headerRecorder struct {
	mu   sync.Mutex
	maps []uintptr
	seen []http.Header
}

func (h *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.maps = append(h.maps, reflect.ValueOf(req.Header).Pointer())
	h.seen = append(h.seen, req.Header.Clone())
	h.mu.Unlock()
	body := `{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// TestStaticKeyHeadersShared: with a static key every request carries the
// provider's one header map (ADR 0122) and the same three headers as when
// each request had its own; with Credentials each request has its own map
// and its own key.
func TestStaticKeyHeadersShared(t *testing.T) {
	want := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}, "Authorization": {"Bearer sk-static"}}
	rec := &headerRecorder{}
	p, err := New(Config{BaseURL: "http://alice:pw@127.0.0.1:1/v1", APIKey: "sk-static", Transport: rec})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := p.Chat(context.Background(), chatCall())
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.Len(t, rec.maps, 8)
	for i := range rec.maps {
		require.Equal(t, rec.maps[0], rec.maps[i], "request %d has a header map of its own", i)
		require.Equal(t, want, rec.seen[i])
	}
	require.Equal(t, want, p.headers) // never written

	rec = &headerRecorder{}
	creds := staticCreds("sk-vault")
	p, err = New(Config{BaseURL: "http://127.0.0.1:1/v1", Credentials: creds, Transport: rec})
	require.NoError(t, err)
	for range 2 {
		_, err := p.Chat(context.Background(), chatCall())
		require.NoError(t, err)
	}
	require.NotEqual(t, rec.maps[0], rec.maps[1])
	require.Equal(t, "Bearer sk-vault", rec.seen[1].Get("Authorization"))
}

type staticCreds string

func (s staticCreds) APIKey(context.Context) (string, error) { return string(s), nil }
func (staticCreds) Rejected(context.Context)                 {}

func chatCall() *provider.ChatCall {
	return &provider.ChatCall{UpstreamModel: "m", Request: &wire.ChatRequest{Model: "m",
		Messages: []wire.Message{{Role: "user", Content: wire.Content{Text: "hi", Set: true}}}}}
}

// TestUpstreamBackOffSchedule: the wait before each retry is the
// upstream's Retry-After when it sent one, else the equal-jitter
// exponential schedule from 250 ms; a wait beyond maxWait stops retrying.
func TestUpstreamBackOffSchedule(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name       string
		retryAfter time.Duration
		maxWait    time.Duration
		min, max   time.Duration // backoff.Stop for both: stop
	}{
		{name: "first exponential wait", maxWait: 10 * time.Second, min: 125 * ms, max: 250 * ms},
		{name: "the upstream's Retry-After", retryAfter: 400 * ms, maxWait: 10 * time.Second, min: 400 * ms, max: 400 * ms},
		{name: "a Retry-After beyond maxWait stops", retryAfter: time.Hour, maxWait: 10 * time.Second, min: backoff.Stop, max: backoff.Stop},
		{name: "a long Retry-After within maxWait is waited", retryAfter: time.Hour, maxWait: 2 * time.Hour, min: time.Hour, max: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter is random: many draws
				b := &upstreamBackOff{next: retry.EqualJitter(250*ms, tt.maxWait), maxWait: tt.maxWait, retryAfter: tt.retryAfter}
				d := b.NextBackOff()
				require.GreaterOrEqual(t, d, tt.min)
				require.LessOrEqual(t, d, tt.max)
			}
		})
	}
}
