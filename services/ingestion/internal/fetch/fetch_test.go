package fetch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
)

func TestForbidden(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		private bool
		ok      bool
	}{
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"10.1.2.3", false, false},
		{"192.168.0.1", false, false},
		{"172.16.5.5", false, false},
		{"169.254.169.254", false, false},
		{"fe80::1", false, false},
		{"fc00::1", false, false},
		{"100.64.0.1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"0.0.0.0", true, false},
		{"224.0.0.1", true, false},
		{"8.8.8.8", false, true},
		{"2606:4700::1111", false, true},
		{"127.0.0.1", true, true},
		{"169.254.169.254", true, true},
	} {
		t.Run(fmt.Sprint(tc.addr, tc.private), func(t *testing.T) {
			got := fetch.Forbidden(netip.MustParseAddr(tc.addr), tc.private)
			require.Equal(t, tc.ok, got == "", got)
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"https://example.com/a?b=c#frag", true},
		{"http://example.com", true},
		{"ftp://example.com/x", false},
		{"file:///etc/passwd", false},
		{"/relative", false},
		{"https://user:pass@example.com/", false},
		{"https://" + strings.Repeat("a", 5000), false},
		{"", false},
	} {
		u, err := fetch.Validate(tc.in)
		if tc.ok {
			require.NoError(t, err, tc.in)
			require.Empty(t, u.Fragment)
		} else {
			require.ErrorIs(t, err, fetch.ErrInvalidURL, tc.in)
		}
	}
}

func TestGet(t *testing.T) {
	const token = "canary-token-7f3a9c"
	var gotAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/doc":
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<p>hello</p>"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
		case "/away":
			http.Redirect(w, r, "http://example.invalid/", http.StatusFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	_, err := fetch.New(fetch.Options{}).Get(ctx, srv.URL+"/doc", token)
	require.ErrorIs(t, err, fetch.ErrForbiddenTarget, "loopback refused by default")
	require.NotContains(t, err.Error(), token)
	require.Empty(t, gotAuth, "nothing was sent")

	f := fetch.New(fetch.Options{AllowPrivate: true, MaxBytes: 1024})
	res, err := f.Get(ctx, srv.URL+"/doc", token)
	require.NoError(t, err)
	require.Equal(t, "<p>hello</p>", string(res.Body))
	require.Equal(t, "text/html", res.ContentType)

	_, err = f.Get(ctx, srv.URL+"/doc", "wrong-"+token)
	require.ErrorIs(t, err, fetch.ErrFetch)
	require.Contains(t, err.Error(), "401")
	require.NotContains(t, err.Error(), token)

	_, err = f.Get(ctx, srv.URL+"/big", "")
	require.ErrorIs(t, err, fetch.ErrTooLarge)

	_, err = f.Get(ctx, srv.URL+"/away", token)
	require.ErrorIs(t, err, fetch.ErrFetch)
	require.NotContains(t, err.Error(), token)
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"https://example.com/a?b#c", "http://u:p@h/", "javascript:alert(1)", "//host/path", "http://[::1]:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := fetch.Validate(raw)
		if err != nil {
			require.ErrorIs(t, err, fetch.ErrInvalidURL)
			return
		}
		require.Contains(t, []string{"http", "https"}, u.Scheme)
		require.Nil(t, u.User)
		require.NotEmpty(t, u.Host)
		require.Empty(t, u.Fragment)
	})
}
