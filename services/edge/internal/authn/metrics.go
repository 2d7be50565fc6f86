package authn

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the authenticator's Prometheus metrics. A nil *Metrics is
// valid and records nothing. No label ever carries a key, a key id or a
// tenant id.
type Metrics struct {
	results *prometheus.CounterVec
	// bound holds the results' counters once used: a label look-up per
	// request hashed the value every time (issue 15). Bound on first use,
	// so no series appears earlier than before.
	bound      sync.Map // result → prometheus.Counter
	events     *prometheus.CounterVec
	evicted    prometheus.Counter
	reconnects prometheus.Counter
	connected  prometheus.Gauge
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_edge_key_verifications_total",
			Help: "API key checks at the edge by result (hit, miss, rejected, malformed, throttled, error).",
		}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_edge_revocation_events_total",
			Help: "Revocation events received from auth, by kind.",
		}, []string{"kind"}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_edge_key_cache_evictions_total",
			Help: "Cached keys evicted by revocation events.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_edge_revocation_stream_reconnects_total",
			Help: "Times the revocation stream was lost and re-subscribed.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rampart_edge_revocation_stream_connected",
			Help: "1 while the revocation stream is connected and resynced.",
		}),
	}
	reg.MustRegister(m.results, m.events, m.evicted, m.reconnects, m.connected)
	return m
}

func (m *Metrics) result(r string) {
	if m == nil {
		return
	}
	c, ok := m.bound.Load(r)
	if !ok {
		c, _ = m.bound.LoadOrStore(r, m.results.WithLabelValues(r))
	}
	c.(prometheus.Counter).Inc() //nolint:errcheck,forcetypeassert // only Counters are stored
}

func (m *Metrics) event(kind string, evicted int) {
	if m != nil {
		m.events.WithLabelValues(kind).Inc()
		m.evicted.Add(float64(evicted))
	}
}

func (m *Metrics) reconnect() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) setConnected(up bool) {
	if m == nil {
		return
	}
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}
