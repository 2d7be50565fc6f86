package ratelimit

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
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
		Help: "Requests refused with 429 by the edge, by level (key, tenant, or streams: concurrent chat streams of a key).",
	}, []string{"level"})}
	reg.MustRegister(m.limited)
	return m
}

// Limited counts one refusal at level ("key", "tenant", "streams"). Safe on
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

// Middleware throttles authenticated requests per key and per tenant. It
// must run after authn.Middleware; unauthenticated (public) routes pass.
func Middleware(l Limiter, d Defaults, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, ok := authn.FromContext(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		keyLimit, tenantLimit := Limits(p, d)
		var binding Result
		bound := false
		// Both limiter keys ("k:<key id>", "t:<tenant>") cut from one
		// string: one allocation per request instead of two (issue 15).
		keys := "k:" + p.GetKeyId() + "t:" + p.GetTenantId()
		split := len("k:") + len(p.GetKeyId())
		for _, lv := range []struct {
			level, key string
			limit      Limit
		}{
			{"key", keys[:split], keyLimit},
			{"tenant", keys[split:], tenantLimit},
		} {
			if lv.limit.IsZero() {
				continue
			}
			res, err := l.Allow(r.Context(), lv.key, lv.limit)
			if err != nil { // limiters fall back internally; be safe anyway
				continue
			}
			if !res.Allowed {
				m.Limited(lv.level)
				setHeaders(w.Header(), res)
				httperr.SetRetryAfter(w.Header(), res.RetryAfter.Seconds())
				// OpenAI's shape for a requests-per-minute limit: type
				// "requests", code "rate_limit_exceeded".
				httperr.Write(w, r, &httperr.Error{Status: http.StatusTooManyRequests, Code: httperr.CodeRateLimitExceeded, Type: httperr.TypeRequests,
					Message: "rate limit exceeded: " + strconv.Itoa(lv.limit.Rate) + " requests per minute for this " + lv.level + "; retry after the retry-after header"})
				return
			}
			if !bound || res.Remaining < binding.Remaining {
				binding, bound = res, true
			}
		}
		if bound {
			setHeaders(w.Header(), binding)
		}
		next.ServeHTTP(w, r)
	})
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
