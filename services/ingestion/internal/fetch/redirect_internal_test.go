package fetch

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRedirectHopIsGuardedAtDial: the guard is not a check of the first
// URL but of every address dialled. A source the guard lets through
// (127.0.0.1 allowed for this test only) redirects to 127.0.0.2; even with
// the cross-host redirect rule switched off, the hop fails in the dialer
// and the second server never sees a request.
func TestRedirectHopIsGuardedAtDial(t *testing.T) {
	var reached atomic.Int32
	inner := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		_, _ = w.Write([]byte("internal"))
	}))
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	inner.Listener = l
	inner.Start()
	defer inner.Close()
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/secret", http.StatusFound)
	}))
	defer outer.Close()

	first := netip.MustParseAddr("127.0.0.1")
	f := newFetcher(Options{}, func(a netip.Addr) string {
		if a == first {
			return ""
		}
		return Forbidden(a, false)
	})
	f.client.CheckRedirect = nil // follow any redirect: only the dialer stands in the way
	_, err = f.Get(context.Background(), outer.URL+"/start", "")
	require.ErrorIs(t, err, ErrForbiddenTarget)
	require.Contains(t, err.Error(), "loopback")
	require.Zero(t, reached.Load(), "the refused hop was never connected")
}

// TestRedirectNeverDowngradesToHTTP: a redirect may stay on the host, but
// not leave https for http there: the bearer token (a caller's one-shot
// token or a connection's) would then cross the network in clear text
// (security review 2026-12-06 evening).
func TestRedirectNeverDowngradesToHTTP(t *testing.T) {
	f := New(Options{})
	req := func(raw string) *http.Request {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, raw, nil)
		require.NoError(t, err)
		return r
	}
	for _, tc := range []struct {
		name string
		via  []string
		next string
		ok   bool
	}{
		{"https to https", []string{"https://docs.example/a"}, "https://docs.example/b", true},
		{"http to https", []string{"http://docs.example/a"}, "https://docs.example/b", true},
		{"http to http", []string{"http://docs.example/a"}, "http://docs.example/b", true},
		{"https to http", []string{"https://docs.example/a"}, "http://docs.example/b", false},
		{"https to http on an explicit port", []string{"https://docs.example:8443/a"}, "http://docs.example:8443/b", false},
		{"https, https, then http", []string{"https://docs.example/a", "https://docs.example/b"}, "http://docs.example/c", false},
		{"http, https, then http", []string{"http://docs.example/a", "https://docs.example/b"}, "http://docs.example/c", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var via []*http.Request
			for _, v := range tc.via {
				via = append(via, req(v))
			}
			err := f.client.CheckRedirect(req(tc.next), via)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "redirect from https to http")
		})
	}
}
