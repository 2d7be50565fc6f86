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

// TestForbidden walks IANA's IPv4 and IPv6 special-purpose registries
// (every entry not globally reachable), the IPv6 transition forms that can
// carry an internal IPv4 address, and public addresses that must pass.
func TestForbidden(t *testing.T) {
	refused := []string{
		// IPv4 special-purpose registry
		"0.0.0.0", "0.1.2.3", // this network 0.0.0.0/8
		"10.0.0.1", "10.255.255.255", // private-use
		"100.64.0.1", "100.127.255.254", // shared address space (CGNAT)
		"127.0.0.1", "127.8.9.10", // loopback
		"169.254.169.254", "169.254.0.1", // link-local (cloud metadata)
		"172.16.0.1", "172.31.255.255", // private-use
		"192.0.0.1", "192.0.0.9", "192.0.0.170", // IETF protocol assignments 192.0.0.0/24
		"192.0.2.1",                  // documentation TEST-NET-1
		"192.31.196.1",               // AS112-v4
		"192.52.193.1",               // AMT
		"192.88.99.1",                // 6to4 relay anycast (deprecated)
		"192.168.1.1",                // private-use
		"192.175.48.1",               // direct delegation AS112
		"198.18.0.1", "198.19.255.1", // benchmarking 198.18.0.0/15
		"198.51.100.7",                 // documentation TEST-NET-2
		"203.0.113.9",                  // documentation TEST-NET-3
		"240.0.0.1", "255.255.255.255", // reserved, limited broadcast
		"224.0.0.1", "239.255.255.250", // multicast
		// IPv6 special-purpose registry and everything outside 2000::/3
		"::", "::1", // unspecified, loopback
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", // IPv4-mapped, judged as IPv4
		"::127.0.0.1", "::a9fe:a9fe", "::8.8.8.8", // IPv4-compatible ::/96 (deprecated)
		"::ffff:0:7f00:1",                                           // IPv4-translated
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::808:808", // NAT64 well-known prefix
		"64:ff9b:1::a00:1", "64:ff9b:1:ffff::1", // NAT64 local-use
		"100::1",                                          // discard-only
		"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo 2001::/32
		"2001:2::1",                // benchmarking
		"2001:10::1", "2001:20::1", // ORCHID
		"2001:db8::1", "3fff::1", // documentation
		"2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:808:808::1", // 6to4
		"2620:4f:8000::1",         // direct delegation AS112
		"5f00::1",                 // segment routing SIDs 5f00::/16
		"fc00::1", "fd12:3456::1", // unique local
		"fe80::1", "fe80::1%eth0", "febf::1", // link-local
		"fec0::1",                       // site-local (deprecated)
		"ff02::1", "ff05::2", "ff0e::1", // multicast
	}
	for _, a := range refused {
		t.Run("refuse "+a, func(t *testing.T) {
			addr := netip.MustParseAddr(a)
			reason := fetch.Forbidden(addr, false)
			require.NotEmpty(t, reason, "%s must be refused", a)
			require.NotContains(t, reason, a, "the reason names the range, not the address")
		})
	}

	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.1", "198.17.255.255", "198.20.0.1",
		"::ffff:8.8.8.8", "2606:4700::1111", "2a00:1450:4001::200e", "2001:4860:4860::8888"}
	for _, a := range allowed {
		t.Run("allow "+a, func(t *testing.T) {
			require.Empty(t, fetch.Forbidden(netip.MustParseAddr(a), false))
		})
	}

	// allowPrivate (tests, on-premise sources) still refuses unspecified
	// and multicast targets.
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1", true}, {"169.254.169.254", true}, {"10.0.0.1", true}, {"::1", true}, {"fd00::1", true},
		{"0.0.0.0", false}, {"::", false}, {"224.0.0.1", false}, {"ff02::1", false}, {"::ffff:0.0.0.0", false},
	} {
		t.Run(fmt.Sprint("allow-private ", tc.addr), func(t *testing.T) {
			got := fetch.Forbidden(netip.MustParseAddr(tc.addr), true)
			require.Equal(t, tc.ok, got == "", got)
		})
	}

	// Reasons for the common classes stay specific.
	for addr, want := range map[string]string{
		"127.0.0.1": "loopback", "10.0.0.1": "private", "169.254.169.254": "link-local", "100.64.0.1": "shared",
		"64:ff9b::7f00:1": "transition", "2002:7f00:1::": "transition", "2001::1": "transition", "::7f00:1": "transition",
		"198.18.0.1": "special-purpose",
	} {
		require.Contains(t, fetch.Forbidden(netip.MustParseAddr(addr), false), want, addr)
	}
}

// FuzzForbidden: any IPv6 spelling of an address the guard refuses as IPv4
// (mapped) is refused too, and an address the guard allows is globally
// routable by the standard library's own reading.
func FuzzForbidden(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::", "2606:4700::1111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		addr, err := netip.ParseAddr(raw)
		if err != nil {
			return
		}
		if fetch.Forbidden(addr, false) == "" {
			u := addr.Unmap()
			require.True(t, u.IsGlobalUnicast(), "%s allowed but not global unicast", addr)
			require.False(t, u.IsPrivate() || u.IsLoopback() || u.IsLinkLocalUnicast(), "%s allowed", addr)
		}
		if addr.Is4() {
			mapped := netip.AddrFrom16(addr.As16())
			require.Equal(t, fetch.Forbidden(addr, false) == "", fetch.Forbidden(mapped, false) == "", "mapped form of %s", addr)
		}
	})
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
