package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
)

// site serves a small website on loopback and records the paths asked for.
func site(t *testing.T, robots string, robotsStatus int) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	pages := map[string]string{
		"/": `<html><body><a href="/a">A</a> <a href="b#frag">B</a> <a href="/a">A again</a>
			<a href="http://other.example/x">away</a> <a href="mailto:x@example.com">mail</a>
			<a href="/private/secret">private</a> <a href="/deep1">deep</a> <a href="/doc.txt">doc</a>
			<a href="/missing">missing</a> <a href="/A/../a">same as /a</a></body></html>`,
		"/a":     `<p>page a</p><a href="/">home</a>`,
		"/b":     `<p>page b</p>`,
		"/deep1": `<a href="/deep2">next</a>`,
		"/deep2": `<a href="/deep3">next</a>`,
		"/deep3": `<p>too deep</p>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("User-Agent"), fetch.UserAgent+"/") {
			http.Error(w, "who are you", http.StatusForbidden)
			return
		}
		switch {
		case r.URL.Path == "/robots.txt":
			if robotsStatus != http.StatusOK {
				http.Error(w, "no", robotsStatus)
				return
			}
			_, _ = w.Write([]byte(robots))
		case r.URL.Path == "/doc.txt":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Last-Modified", "Wed, 01 Jul 2026 10:00:00 GMT")
			_, _ = w.Write([]byte(`<a href="/never">not html, not followed</a>`))
		case pages[r.URL.Path] != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(pages[r.URL.Path]))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

func crawl(_ *testing.T, f *fetch.Fetcher, start string, o fetch.CrawlOptions) ([]string, fetch.CrawlStats, error) {
	var got []string
	st, err := f.Crawl(context.Background(), start, o, func(p fetch.Page) error {
		u, _ := url.Parse(p.URL)
		got = append(got, fmt.Sprintf("%s@%d", u.Path, p.Depth))
		return nil
	})
	return got, st, err
}

func TestCrawl(t *testing.T) {
	srv, asked := site(t, "User-agent: *\nDisallow: /private/\n", http.StatusOK)
	f := fetch.New(fetch.Options{AllowPrivate: true}) // loopback test server: tests only

	got, st, err := crawl(t, f, srv.URL+"/#top", fetch.CrawlOptions{MaxDepth: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"/@0", "/a@1", "/b@1", "/deep1@1", "/doc.txt@1", "/deep2@2"}, got,
		"breadth first, same host, fragments and duplicates folded, depth ≤ 2, robots.txt honoured")
	require.Equal(t, fetch.CrawlStats{Fetched: 6, Failed: 1, Disallowed: 1, Bytes: st.Bytes}, st)
	for _, p := range asked() {
		require.NotEqual(t, "/private/secret", p, "disallowed path never requested")
		require.NotEqual(t, "/never", p, "links of non-HTML pages are not followed")
		require.NotEqual(t, "/deep3", p)
	}

	// Page and byte limits stop the crawl and say so.
	got, st, err = crawl(t, f, srv.URL+"/", fetch.CrawlOptions{MaxPages: 2})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, st.Truncated)
	got, st, err = crawl(t, f, srv.URL+"/", fetch.CrawlOptions{MaxTotalBytes: 100})
	require.NoError(t, err)
	require.Empty(t, got, "the start page alone is over 100 bytes")
	require.True(t, st.Truncated)

	// Last-Modified is kept for citations.
	_, err = f.Crawl(context.Background(), srv.URL+"/doc.txt", fetch.CrawlOptions{}, func(p fetch.Page) error {
		require.Equal(t, 2026, p.LastModified.Year())
		return nil
	})
	require.NoError(t, err)

	// visit's error stops the crawl.
	_, err = f.Crawl(context.Background(), srv.URL+"/", fetch.CrawlOptions{}, func(fetch.Page) error { return context.Canceled })
	require.ErrorIs(t, err, context.Canceled)
}

func TestCrawlRobots(t *testing.T) {
	for _, tc := range []struct {
		name   string
		robots string
		status int
		err    error
		pages  int
	}{
		{"no robots.txt: all allowed", "", http.StatusNotFound, nil, 7},
		{"robots.txt unavailable: nothing", "", http.StatusServiceUnavailable, fetch.ErrRobotsUnavailable, 0},
		{"disallow all for our agent", "User-agent: RampartBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n", http.StatusOK, fetch.ErrDisallowed, 0},
		{"other agents' rules do not apply", "User-agent: OtherBot\nDisallow: /\n", http.StatusOK, nil, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := site(t, tc.robots, tc.status)
			got, _, err := crawl(t, fetch.New(fetch.Options{AllowPrivate: true}), srv.URL+"/", fetch.CrawlOptions{MaxDepth: 5})
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.ErrorIs(t, err, fetch.ErrDisallowed)
				// Only an unreachable robots.txt says so, with the reason.
				if errors.Is(tc.err, fetch.ErrRobotsUnavailable) {
					require.EqualError(t, err, "robots.txt is unavailable (fetch failed: the source answered HTTP 503), which RFC 9309 treats as disallowing every URL")
				} else {
					require.NotErrorIs(t, err, fetch.ErrRobotsUnavailable)
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, got, tc.pages)
		})
	}
}

// TestCrawlRobotsUnreachable: a host that cannot be reached fails the
// crawl as robots.txt unavailable with the fetch failure's class, not as
// if the site's rules disallowed the start URL.
func TestCrawlRobotsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens on its port any more
	_, _, err := crawl(t, fetch.New(fetch.Options{AllowPrivate: true}), srv.URL+"/", fetch.CrawlOptions{})
	require.ErrorIs(t, err, fetch.ErrRobotsUnavailable)
	require.ErrorIs(t, err, fetch.ErrFetch)
	require.EqualError(t, err, "robots.txt is unavailable (fetch failed: could not connect), which RFC 9309 treats as disallowing every URL")
}

// TestCrawlGuarded: the crawl goes through the SSRF guard, robots.txt
// included, so a loopback site is refused by a default Fetcher.
func TestCrawlGuarded(t *testing.T) {
	srv, asked := site(t, "", http.StatusNotFound)
	_, _, err := crawl(t, fetch.New(fetch.Options{}), srv.URL+"/", fetch.CrawlOptions{})
	require.ErrorIs(t, err, fetch.ErrForbiddenTarget)
	require.Empty(t, asked())
	_, _, err = crawl(t, fetch.New(fetch.Options{}), "file:///etc/passwd", fetch.CrawlOptions{})
	require.ErrorIs(t, err, fetch.ErrInvalidURL)
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://Example.COM:80/a/./b/../c#x": "http://example.com/a/c",
		"https://example.com:443":            "https://example.com/",
		"https://example.com:8443/x/":        "https://example.com:8443/x/",
		"http://example.com/a%20b?q=1&a=2":   "http://example.com/a%20b?q=1&a=2",
		"http://[::1]:80/":                   "http://[::1]/",
	} {
		u, err := url.Parse(in)
		require.NoError(t, err)
		require.Equal(t, want, fetch.Canonical(u).String(), in)
	}
}
