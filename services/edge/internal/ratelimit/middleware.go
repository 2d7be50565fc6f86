package ratelimit

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// Defaults apply when the principal leaves a level at 0. 0 here too means
// no limit at that level.
type Defaults struct {
	KeyRPM    int
	TenantRPM int
}

// Header names (OpenAI's).
const (
	HeaderLimit     = "X-Ratelimit-Limit-Requests"
	HeaderRemaining = "X-Ratelimit-Remaining-Requests"
	HeaderReset     = "X-Ratelimit-Reset-Requests"
)

// Metrics counts decisions. A nil *Metrics records nothing.
type Metrics struct{ limited *prometheus.CounterVec }

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{limited: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rampart_edge_rate_limited_total",
		Help: "Requests refused with 429 by the edge, by level (key, pool: the keys minted from one limited key, tenant, or streams: concurrent chat streams of a key).",
	}, []string{"level"})}
	reg.MustRegister(m.limited)
	return m
}

// Limited counts one refusal at level ("key", "pool", "tenant", "streams"). Safe on
// a nil *Metrics.
func (m *Metrics) Limited(level string) {
	if m != nil {
		m.limited.WithLabelValues(level).Inc()
	}
}

// Counter returns the refusal counter of level (for tests).
func (m *Metrics) Counter(level string) prometheus.Counter {
	return m.limited.WithLabelValues(level)
}

// Middleware throttles authenticated requests per key, per key rate pool
// (the keys minted or rotated from one limited key, ADR 0076) and per
// tenant. It must run after authn.Middleware; unauthenticated (public)
// routes pass.
func Middleware(l Limiter, d Defaults, m *Metrics, next http.Handler) http.Handler {
	memo := newKeyMemo()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, ok := authn.FromContext(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ls := memo.levels(p, d)
		dec, err := l.AllowLevels(r.Context(), ls)
		if err != nil || ls.Len() == 0 { // limiters fall back internally; be safe anyway
			next.ServeHTTP(w, r)
			return
		}
		if dec.Refused >= 0 {
			lv := ls.At(dec.Refused)
			m.Limited(lv.Name)
			setHeaders(w.Header(), dec.Result)
			httperr.SetRetryAfter(w.Header(), dec.Result.RetryAfter.Seconds())
			// OpenAI's shape for a requests-per-minute limit: type
			// "requests", code "rate_limit_exceeded".
			httperr.Write(w, r, &httperr.Error{Status: http.StatusTooManyRequests, Code: httperr.CodeRateLimitExceeded, Type: httperr.TypeRequests,
				Message: "rate limit exceeded: " + strconv.Itoa(lv.Limit.Rate) + " requests per minute for " + levelText(lv.Name) + "; retry after the retry-after header"})
			return
		}
		setHeaders(w.Header(), dec.Result)
		next.ServeHTTP(w, r)
	})
}

// levels are the buckets a request of p is charged to: its key's, its
// key's rate pools' (the outermost first: every limited key it was minted
// or rotated from, ADR 0076, 0086) and its tenant's. The limiter keys
// ("k:<key id>", "t:<tenant id>", and a pool's "k:<pool key id>": a pool
// is its key's own bucket) are cut from one string: one allocation per
// request (issue 15).
func levels(p *authv1.Principal, d Defaults) Levels {
	keyLimit, tenantLimit := Limits(p, d)
	var (
		buf   [192]byte
		ends  [principal.MaxRatePools]int
		rates [principal.MaxRatePools]int64
		n     int
	)
	b := append(append(buf[:0], "k:"...), p.GetKeyId()...)
	k := len(b)
	b = append(append(b, "t:"...), p.GetTenantId()...)
	t := len(b)
	for rp := range principal.RatePools(p.GetRequestsPools(), p.GetRequestsPool(), p.GetKeyId()) {
		if n == len(ends) {
			break
		}
		b = append(append(b, "k:"...), rp.GetKeyId()...)
		ends[n], rates[n] = len(b), rp.GetPerMinute()
		n++
	}
	keys := string(b)
	var ls Levels
	ls.SetTag(p.GetTenantId())
	ls.Add("key", keys[:k], keyLimit)
	for i, start := 0, t; i < n; start, i = ends[i], i+1 {
		ls.Add("pool", keys[start:ends[i]], PerMinute(int(rates[i])))
	}
	ls.Add("tenant", keys[k:t], tenantLimit)
	return ls
}

// keyMemo holds the levels of recently seen principals by pointer: authn's
// cache hands every request of a verified key the same *Principal,
// read-only, for as long as the key stays verified, and a middleware's
// defaults do not change, so a key's levels are built once rather than on
// every request (the key string's allocation and ~600 instructions per
// request, issue 15, ADR 0121). A re-verified key is a new *Principal and
// gets its levels built again. A memo holds its principal, so no pointer
// here is reused for another while it is held.
type keyMemo struct {
	slots [64]atomic.Pointer[memoized]
}

type memoized struct {
	p  *authv1.Principal
	ls Levels
}

func newKeyMemo() *keyMemo { return new(keyMemo) }

// levels is levels(p, d), from the memo when it holds p's.
func (m *keyMemo) levels(p *authv1.Principal, d Defaults) Levels {
	slot := m.slot(p)
	if e := slot.Load(); e != nil && e.p == p {
		return e.ls
	}
	e := &memoized{p: p, ls: levels(p, d)}
	slot.Store(e)
	return e.ls
}

// slot is where p's levels are kept: picked by the last bytes of its key
// id (random base62, minted by auth), which is cheaper than hashing the
// pointer; two keys in one slot only build their levels again.
func (m *keyMemo) slot(p *authv1.Principal) *atomic.Pointer[memoized] {
	id := p.GetKeyId()
	var h uint
	for i := max(0, len(id)-4); i < len(id); i++ {
		h = h*31 + uint(id[i])
	}
	return &m.slots[h%uint(len(m.slots))]
}

// levelText names a level in the 429's message.
func levelText(level string) string {
	switch level {
	case "pool":
		return "the keys minted from the same limited key (they share its rate)"
	case "tenant":
		return "this tenant"
	}
	return "this key"
}

// Limits returns the key and tenant limits for p.
func Limits(p *authv1.Principal, d Defaults) (key, tenant Limit) {
	k := int(p.GetLimits().GetRequestsPerMinute())
	if k <= 0 {
		k = d.KeyRPM
	}
	t := int(p.GetLimits().GetTenantRequestsPerMinute())
	if t <= 0 {
		t = d.TenantRPM
	}
	return PerMinute(k), PerMinute(t)
}

// setHeaders writes the three rate-limit headers of every answer. The three
// values are cut from one string and share one slice (Header.Set, and a
// string per value, allocated five times per request, issue 15); the names
// are in canonical form already.
func setHeaders(h http.Header, r Result) {
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], int64(r.Limit.Rate), 10)
	n1 := len(b)
	b = strconv.AppendInt(b, int64(max(r.Remaining, 0)), 10)
	n2 := len(b)
	s := string(appendReset(b, r.ResetAfter))
	v := []string{s[:n1], s[n1:n2], s[n2:]}
	h[HeaderLimit], h[HeaderRemaining], h[HeaderReset] = v[0:1:1], v[1:2:2], v[2:3:3]
}

// FormatReset renders a reset duration as OpenAI does ("1s", "6m0s", "20ms").
func FormatReset(d time.Duration) string { return string(appendReset(nil, d)) }

func appendReset(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, "0s"...)
	}
	if d < time.Second {
		b = strconv.AppendInt(b, int64(d.Round(time.Millisecond)/time.Millisecond), 10)
		return append(b, "ms"...)
	}
	return append(b, d.Round(time.Millisecond).String()...)
}
