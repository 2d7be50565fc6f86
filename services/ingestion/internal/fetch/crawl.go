package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/temoto/robotstxt"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// UserAgent is the product token robots.txt rules are matched against.
const UserAgent = "RampartBot"

// Crawl limits: callers ask within these.
const (
	MaxCrawlDepth = 5
	MaxCrawlPages = 1000
	// maxCrawlDelay caps a robots.txt Crawl-delay honoured between fetches.
	maxCrawlDelay = 10 * time.Second
	// maxLinksPerPage bounds the links taken from one page.
	maxLinksPerPage = 2000
)

// ErrDisallowed is returned when robots.txt forbids the start URL.
var ErrDisallowed = errors.New("robots.txt disallows this URL")

// ErrRobotsUnavailable is returned (matching ErrDisallowed too) when
// robots.txt could not be fetched or parsed, or answered 5xx, which
// disallows every URL: it is not the site's rules, and the error says so.
var ErrRobotsUnavailable = errors.New("robots.txt is unavailable")

// robotsUnavailableError is ErrRobotsUnavailable with the reason: a fetch
// error of classify's classes or the HTTP status, never a URL or address.
type robotsUnavailableError struct{ why error }

func (e *robotsUnavailableError) Error() string {
	return fmt.Sprintf("%s (%v), which RFC 9309 treats as disallowing every URL", ErrRobotsUnavailable, e.why)
}

func (e *robotsUnavailableError) Is(target error) bool {
	return target == ErrRobotsUnavailable || target == ErrDisallowed
}

func (e *robotsUnavailableError) Unwrap() error { return e.why }

// CrawlOptions bound a crawl; zero values take the defaults.
type CrawlOptions struct {
	// MaxDepth is how many links away from the start page to go (default
	// 2, at most MaxCrawlDepth; 0 takes the default, use 1 for the start
	// page's links only).
	MaxDepth int
	// MaxPages bounds the pages fetched, robots.txt not counted (default
	// 50, at most MaxCrawlPages).
	MaxPages int
	// MaxTotalBytes bounds the bytes of all pages (default 100 MiB); each
	// page is also bounded by the Fetcher's MaxBytes.
	MaxTotalBytes int64
}

func (o CrawlOptions) withDefaults() CrawlOptions {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 2
	}
	o.MaxDepth = min(o.MaxDepth, MaxCrawlDepth)
	if o.MaxPages <= 0 {
		o.MaxPages = 50
	}
	o.MaxPages = min(o.MaxPages, MaxCrawlPages)
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = 100 << 20
	}
	return o
}

// Page is one fetched page of a crawl.
type Page struct {
	URL   string // canonical form
	Depth int
	Result
}

// CrawlStats says how a crawl went.
type CrawlStats struct {
	Fetched, Failed, Disallowed int
	Bytes                       int64
	// Truncated is set when a limit stopped the crawl with links left.
	Truncated bool
}

// Crawl fetches start and the pages it links to on the same scheme and
// host, breadth first, within o's limits and what robots.txt allows for
// UserAgent, calling visit for each page fetched (visit's error stops the
// crawl). Every request, robots.txt included, goes through f, so the SSRF
// guard checks each dialled address and redirects stay on the host. Pages
// that fail are counted and skipped; only the start page's failure fails
// the crawl.
func (f *Fetcher) Crawl(ctx context.Context, start string, o CrawlOptions, visit func(Page) error) (CrawlStats, error) {
	o = o.withDefaults()
	var st CrawlStats
	u, err := Validate(start)
	if err != nil {
		return st, err
	}
	root := Canonical(u)
	robots, delay, unavailable, err := f.robots(ctx, root)
	if err != nil {
		return st, err
	}
	if !robots.TestAgent(pathAndQuery(root), UserAgent) {
		if unavailable != nil {
			// Say why: "disallows" alone reads as the site's rules when
			// the host does not even resolve.
			return st, &robotsUnavailableError{unavailable}
		}
		return st, ErrDisallowed
	}
	type item struct {
		u     *url.URL
		depth int
	}
	seen := map[string]bool{root.String(): true}
	queue := []item{{root, 0}}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if st.Fetched >= o.MaxPages || st.Bytes >= o.MaxTotalBytes {
			st.Truncated = true
			break
		}
		it := queue[0]
		queue = queue[1:]
		if st.Fetched+st.Failed > 0 && delay > 0 {
			select {
			case <-ctx.Done():
				return st, ctx.Err()
			case <-time.After(delay):
			}
		}
		res, err := f.Get(ctx, it.u.String(), "")
		if err != nil {
			if it.depth == 0 {
				return st, err
			}
			st.Failed++
			continue
		}
		if st.Bytes+int64(len(res.Body)) > o.MaxTotalBytes {
			st.Truncated = true
			break
		}
		st.Fetched++
		st.Bytes += int64(len(res.Body))
		if err := visit(Page{URL: it.u.String(), Depth: it.depth, Result: *res}); err != nil {
			return st, err
		}
		if it.depth >= o.MaxDepth || !isHTML(res.ContentType, res.Body) {
			continue
		}
		for _, l := range links(it.u, res.Body) {
			if l.Scheme != root.Scheme || l.Host != root.Host || seen[l.String()] {
				continue
			}
			seen[l.String()] = true
			if !robots.TestAgent(pathAndQuery(l), UserAgent) {
				st.Disallowed++
				continue
			}
			queue = append(queue, item{l, it.depth + 1})
		}
	}
	return st, nil
}

// robots fetches and parses robots.txt for root's host: a 4xx answer
// (none) allows everything; a 5xx or a failed fetch disallows everything
// (RFC 9309 §2.3.1.3–4), and unavailable says why (a fetch error of
// classify's classes, or the HTTP status: never the URL or an address).
func (f *Fetcher) robots(ctx context.Context, root *url.URL) (data *robotstxt.RobotsData, delay time.Duration, unavailable, err error) {
	ru := url.URL{Scheme: root.Scheme, Host: root.Host, Path: "/robots.txt"}
	res, err := f.Get(ctx, ru.String(), "")
	var se *StatusError
	switch {
	case err == nil:
		data, err = robotstxt.FromStatusAndBytes(200, res.Body)
		if err != nil { // unparsable: treat as unavailable
			data, _ = robotstxt.FromStatusAndBytes(500, nil)
			unavailable = errors.New("unparsable")
		}
	case errors.As(err, &se):
		data, _ = robotstxt.FromStatusAndBytes(se.Code, nil)
		if se.Code >= 500 {
			unavailable = err
		}
	case errors.Is(err, ErrForbiddenTarget), errors.Is(err, ErrInvalidURL):
		return nil, 0, nil, err
	default:
		data, _ = robotstxt.FromStatusAndBytes(500, nil)
		unavailable = err
	}
	// TestAgent, not FindGroup(…).Test: only TestAgent applies the
	// allow-all / disallow-all outcomes of a 4xx / 5xx answer.
	return data, min(data.FindGroup(UserAgent).CrawlDelay, maxCrawlDelay), unavailable, nil
}

// Canonical is u without fragment, with a lower-case scheme and host, no
// default port, a cleaned path ("/" when empty) and its query kept as is.
func Canonical(u *url.URL) *url.URL {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	c.Scheme = strings.ToLower(c.Scheme)
	host := strings.ToLower(c.Hostname())
	port := c.Port()
	if (c.Scheme == "http" && port == "80") || (c.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	c.Host = host
	p := c.EscapedPath()
	if p == "" {
		p = "/"
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	c.RawPath = ""
	if unesc, err := url.PathUnescape(clean); err == nil {
		c.Path = unesc
		if c.EscapedPath() != clean {
			c.RawPath = clean
		}
	}
	return &c
}

func pathAndQuery(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	return u.EscapedPath() + "?" + u.RawQuery
}

func isHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt == "text/html" || mt == "application/xhtml+xml"
	}
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("<"))
}

// links returns the canonical http(s) targets of a page's <a href>, in
// order, resolved against the page (and its <base href>).
func links(page *url.URL, body []byte) []*url.URL {
	z := html.NewTokenizer(bytes.NewReader(body))
	base := page
	var out []*url.URL
	for len(out) < maxLinksPerPage {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		a := atom.Lookup(name)
		if (a != atom.A && a != atom.Base) || !hasAttr {
			continue
		}
		for {
			k, v, more := z.TagAttr()
			if string(k) == "href" {
				ref, err := url.Parse(strings.TrimSpace(string(v)))
				if err == nil {
					abs := base.ResolveReference(ref)
					if a == atom.Base {
						base = abs
					} else if abs.Scheme == "http" || abs.Scheme == "https" {
						if _, err := Validate(abs.String()); err == nil {
							out = append(out, Canonical(abs))
						}
					}
				}
			}
			if !more {
				break
			}
		}
	}
	return out
}

// String renders stats for job progress and logs.
func (s CrawlStats) String() string {
	return fmt.Sprintf("%d pages fetched, %d failed, %d disallowed by robots.txt, %d bytes", s.Fetched, s.Failed, s.Disallowed, s.Bytes)
}
