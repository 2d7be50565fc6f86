package vault

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxNameLabels bounds the secret-name label's cardinality; further names
// are counted as "other". Tenant ids never appear in labels.
const maxNameLabels = 1000

// Metrics are keyvault's Prometheus metrics.
type Metrics struct {
	accessTotal   *prometheus.CounterVec
	rotationTotal *prometheus.CounterVec
	deniedTotal   *prometheus.CounterVec
	auditFailures prometheus.Counter
	shredTotal    prometheus.Counter

	mu    sync.Mutex
	names map[string]bool
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accessTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyvault_secret_access_total", Help: "Secret accesses by secret name, action and result.",
		}, []string{"secret", "action", "result"}),
		rotationTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyvault_rotation_total", Help: "Rotations by result (success, failure).",
		}, []string{"result"}),
		deniedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyvault_access_denied_total", Help: "Policy denials by action.",
		}, []string{"action"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyvault_audit_failures_total", Help: "Audit writes that failed (each failed its request).",
		}),
		shredTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyvault_tenant_shred_total", Help: "Tenant crypto-shreds performed (repeats included).",
		}),
		names: map[string]bool{},
	}
	if reg != nil {
		reg.MustRegister(m.accessTotal, m.rotationTotal, m.deniedTotal, m.auditFailures, m.shredTotal)
	}
	return m
}

func (m *Metrics) access(name, action, result string) {
	m.mu.Lock()
	if !m.names[name] {
		if len(m.names) >= maxNameLabels {
			name = "other"
		} else {
			m.names[name] = true
		}
	}
	m.mu.Unlock()
	m.accessTotal.WithLabelValues(name, action, result).Inc()
}

func (m *Metrics) rotation(result string) { m.rotationTotal.WithLabelValues(result).Inc() }
func (m *Metrics) denied(action string)   { m.deniedTotal.WithLabelValues(action).Inc() }
func (m *Metrics) auditFailed()           { m.auditFailures.Inc() }
func (m *Metrics) shred()                 { m.shredTotal.Inc() }

// accessTracker batches last-access times so reads do not write the DB.
type accessTracker struct {
	mu   sync.Mutex
	seen map[[2]string]time.Time
}

func newAccessTracker() *accessTracker { return &accessTracker{seen: map[[2]string]time.Time{}} }

func (t *accessTracker) touch(tenant, id string, at time.Time) {
	t.mu.Lock()
	t.seen[[2]string{tenant, id}] = at
	t.mu.Unlock()
}

func (t *accessTracker) take() map[[2]string]time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.seen
	t.seen = map[[2]string]time.Time{}
	return out
}

// FlushAccess writes batched last-access times to the database.
func (s *Service) FlushAccess(ctx context.Context) error {
	m := s.access.take()
	if len(m) == 0 {
		return nil
	}
	return s.o.Store.TouchAccessed(ctx, m)
}
