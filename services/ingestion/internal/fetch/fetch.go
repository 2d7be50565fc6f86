package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// ErrInvalidURL is returned for a URL that is not an absolute http(s) URL
// without credentials.
var ErrInvalidURL = errors.New("invalid url")

// ErrForbiddenTarget is returned when the URL resolves to an address the
// guard refuses.
var ErrForbiddenTarget = errors.New("url target is not allowed")

// ErrTooLarge is returned for a body over the limit.
var ErrTooLarge = errors.New("document too large")

// ErrFetch is returned when the fetch fails; its message carries only the
// status code or failure class, never the URL's query or the token.
var ErrFetch = errors.New("fetch failed")

// Options configure a Fetcher.
type Options struct {
	// AllowPrivate permits loopback, private and link-local targets (tests,
	// on-premise sources). Off by default.
	AllowPrivate bool
	// MaxBytes bounds the body (default 10 MiB).
	MaxBytes int64
	// Timeout bounds the whole fetch (default 30 s).
	Timeout time.Duration
}

// Fetcher fetches documents.
type Fetcher struct {
	client *http.Client
	opts   Options
}

// New returns a Fetcher.
func New(o Options) *Fetcher {
	return newFetcher(o, func(a netip.Addr) string { return Forbidden(a, o.AllowPrivate) })
}

// newFetcher builds a Fetcher whose dialer refuses what forbidden names.
func newFetcher(o Options, forbidden func(netip.Addr) string) *Fetcher {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 10 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: control(forbidden)}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    false,
		Proxy:                 nil, // never send tokens through an environment proxy
	}
	c := &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
				return errors.New("redirect to a non-http scheme")
			}
			// Go drops Authorization when the redirect leaves the host;
			// refuse that outright so a token-bearing job never silently
			// fetches something else unauthenticated.
			if req.URL.Host != via[0].URL.Host {
				return errors.New("redirect to another host")
			}
			// Nor from https to http on the host: the bearer token would
			// cross the network in clear text.
			if req.URL.Scheme == "http" {
				for _, v := range via {
					if v.URL.Scheme == "https" {
						return errors.New("redirect from https to http")
					}
				}
			}
			return nil
		},
	}
	return &Fetcher{client: c, opts: o}
}

// Result is a fetched document.
type Result struct {
	Body        []byte
	ContentType string
	// LastModified is the Last-Modified header (zero when absent or
	// unparsable), for citations.
	LastModified time.Time
}

// Validate checks that raw is an absolute http(s) URL without user info,
// and returns it without its fragment.
func Validate(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: must be an absolute http or https URL", ErrInvalidURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme must be http or https", ErrInvalidURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL are not accepted; use access_token", ErrInvalidURL)
	}
	if len(raw) > 4096 {
		return nil, fmt.Errorf("%w: longer than 4096 bytes", ErrInvalidURL)
	}
	u.Fragment = ""
	return u, nil
}

// Get fetches raw, sending token (if not empty) as a bearer token on this
// request only. Errors never include the token.
func (f *Fetcher) Get(ctx context.Context, raw, token string) (*Result, error) {
	u, err := Validate(raw)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidURL, "cannot build request")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "text/html, text/markdown, text/plain;q=0.9, */*;q=0.1")
	req.Header.Set("User-Agent", UserAgent+"/1 (rampart-ingestion)") // the token robots.txt rules are matched against
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &StatusError{Code: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body failed", ErrFetch)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, f.opts.MaxBytes)
	}
	res := &Result{Body: body, ContentType: resp.Header.Get("Content-Type")}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		res.LastModified = lm.UTC()
	}
	return res, nil
}

// StatusError is a non-200 answer from the source. It is an ErrFetch.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: the source answered HTTP %d", ErrFetch.Error(), e.Code)
}

// Is makes errors.Is(err, ErrFetch) true.
func (e *StatusError) Is(target error) bool { return target == ErrFetch }

// Client is the guarded HTTP client (for OAuth token and revocation
// endpoints, which get the same SSRF guard).
func (f *Fetcher) Client() *http.Client { return f.client }

// AllowsPrivate reports whether private targets are allowed.
func (f *Fetcher) AllowsPrivate() bool { return f.opts.AllowPrivate }

// classify turns a transport error into one without the URL (which may
// carry query secrets) or any header.
func classify(err error) error {
	var fe *forbiddenError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, fe.reason)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: timed out or canceled", ErrFetch)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("%w: the host name does not resolve", ErrFetch)
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "redirect") {
		return fmt.Errorf("%w: %s", ErrFetch, ue.Err.Error())
	}
	return fmt.Errorf("%w: could not connect", ErrFetch)
}

type forbiddenError struct{ reason string }

func (e *forbiddenError) Error() string { return e.reason }

// control runs after DNS resolution, on the address actually dialled: every
// connection (the first request, each redirect hop, OAuth token and
// revocation calls) passes through it, so neither DNS rebinding nor a
// redirect can reach a refused address.
func control(forbidden func(netip.Addr) string) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &forbiddenError{"unparseable address"}
		}
		if reason := forbidden(ap.Addr()); reason != "" {
			return &forbiddenError{reason}
		}
		return nil
	}
}

// guardian is code.dny.dev/ssrf's deny list: every prefix of IANA's IPv4
// and IPv6 special-purpose registries that is not globally reachable, and
// every IPv6 address outside global unicast 2000::/3 (so IPv4-compatible
// ::/96, IPv4-translated, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, ULA,
// link-local, multicast); inside 2000::/3 it refuses 2001::/23 (Teredo and
// other IETF assignments), 6to4 2002::/16 and the documentation prefixes.
// Ports are not restricted here (OAuth providers and on-premise wikis use
// others than 80 and 443).
var guardian = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAnyNetwork())

// Forbidden says why the guard refuses addr ("" when allowed). The reason
// names the kind of range only, never the address (an error must not tell
// a caller what an internal host name resolves to).
//
// An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address a.b.c.d on
// the wire, so it is judged as that IPv4 address. allowPrivate (tests,
// on-premise sources) lets through everything but unspecified and
// multicast addresses.
func Forbidden(addr netip.Addr, allowPrivate bool) string {
	addr = addr.Unmap()
	switch {
	case addr.IsUnspecified():
		return "unspecified address"
	case addr.IsMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsLinkLocalMulticast():
		return "multicast address"
	case allowPrivate:
		return ""
	}
	if guardian.SafeAddr(addr) == nil {
		return ""
	}
	switch {
	case addr.IsLoopback():
		return "loopback address"
	case addr.IsPrivate():
		return "private address"
	case addr.IsLinkLocalUnicast():
		return "link-local address (cloud metadata)"
	case cgnat.Contains(addr):
		return "shared address space"
	case addr.Is6() && embedsIPv4(addr):
		return "IPv6 transition address (NAT64, 6to4, Teredo or IPv4-compatible)"
	}
	return "special-purpose address (not globally reachable)"
}

var (
	cgnat      = netip.MustParsePrefix("100.64.0.0/10")
	transition = []netip.Prefix{
		netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
		netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
		netip.MustParsePrefix("64:ff9b::/96"),    // NAT64 well-known prefix
		netip.MustParsePrefix("64:ff9b:1::/48"),  // NAT64 local-use
		netip.MustParsePrefix("2001::/32"),       // Teredo
		netip.MustParsePrefix("2002::/16"),       // 6to4
	}
)

// embedsIPv4 reports whether addr is in a transition prefix that carries
// an IPv4 address (only used to word the refusal: all are refused).
func embedsIPv4(addr netip.Addr) bool {
	for _, p := range transition {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
