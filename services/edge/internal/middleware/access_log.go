package middleware

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// Metrics are the edge's HTTP metrics, labelled by route class (never by
// raw path, key or tenant).
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series holds the bound children by (route, method, status): looking
	// them up by label values hashed and compared the labels on every
	// request (issue 15). All three labels are bounded (route classes,
	// methodLabel, status codes), and so is the map.
	series sync.Map // seriesKey → *series
}

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts one request and its duration.
func (m *Metrics) observe(route, method string, status int, elapsed time.Duration) {
	k := seriesKey{route: route, method: method, status: status}
	v, ok := m.series.Load(k)
	if !ok {
		v, _ = m.series.LoadOrStore(k, &series{
			requests: m.requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	s, _ := v.(*series)
	s.requests.Inc()
	s.duration.Observe(elapsed.Seconds())
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_edge_http_requests_total",
			Help: "HTTP requests served by the edge, by route class, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rampart_edge_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests at the edge, by route class.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// AccessLog logs one line per request (method, path, route class, status,
// bytes, duration_us, client IP (as ClientAddr computed it from the
// trusted proxies), request and tenant ids — never headers or bodies) and
// records metrics. classify maps a path to a bounded route label. sampling
// (nil: every line) thins out the lines of successful requests; errors are
// always logged and metrics always recorded.
func AccessLog(log *slog.Logger, m *Metrics, classify func(*http.Request) string, sampling *Sampling, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st, r := reqstate.Ensure(r)
		rec := st.Recorder(w)
		next.ServeHTTP(rec, r)
		status := rec.Status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := classify(r)
		if m != nil {
			m.observe(route, methodLabel(r.Method), status, elapsed)
		}
		keep, rate := sampling.keep(route, status)
		if !keep {
			return
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("tenant_id", st.TenantID),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Int64("bytes", rec.Bytes),
			// The one duration unit of every service's access log (pkg/serve):
			// integer microseconds, named with their unit.
			slog.Int64("duration_us", elapsed.Microseconds()),
			slog.String("client_ip", st.ClientIP),
			slog.String("client_request_id", st.ClientRequestID),
		}
		if rate < 1 {
			attrs = append(attrs, slog.Float64("sample_rate", rate))
		}
		// Not log.LogAttrs, which asks runtime.Callers for a source
		// position no handler of ours prints (~1 % of the edge's CPU under
		// chat load, issue 15), and without a slog.Record in between
		// (logging.Handle); its clock read is the one elapsed came from.
		ctx := r.Context()
		if h := log.Handler(); h.Enabled(ctx, level) {
			logging.Handle(ctx, h, start.Add(elapsed), level, "http request", attrs...)
		}
	})
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return m
	default:
		return "OTHER"
	}
}
