package vault

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
)

// Label values are never caller-supplied: no secret name, tenant or
// subject appears in a label (a name is a tenant's data, and a lookup of
// any string must not mint a series). Secrets are counted by owner class
// instead — "tenant" or the owning service — a fixed set, pre-created.
var (
	accessOwners  = append([]string{ownerTenant}, policy.Services()...)
	accessActions = []string{"read"}
	accessResults = []string{audit.ResultOK, audit.ResultDenied, audit.ResultNotFound, audit.ResultInvalid, audit.ResultError}
)

const ownerTenant = "tenant"

// Metrics are keyvault's Prometheus metrics.
type Metrics struct {
	accessTotal *prometheus.CounterVec
	// accessSeries are accessTotal's pre-created series, [owner][action]
	// [result] in the order of accessOwners, accessActions and
	// accessResults: a read counts itself without hashing its labels.
	accessSeries  [][][]prometheus.Counter
	rotationTotal *prometheus.CounterVec
	deniedTotal   *prometheus.CounterVec
	auditFailures prometheus.Counter
	shredTotal    prometheus.Counter
}

// NewMetrics registers the metrics with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accessTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyvault_secret_access_total", Help: "Secret accesses by owner (tenant or the owning service), action and result.",
		}, []string{"owner", "action", "result"}),
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
	}
	m.accessSeries = make([][][]prometheus.Counter, len(accessOwners))
	for i, o := range accessOwners {
		m.accessSeries[i] = make([][]prometheus.Counter, len(accessActions))
		for j, a := range accessActions {
			for _, r := range accessResults {
				m.accessSeries[i][j] = append(m.accessSeries[i][j], m.accessTotal.WithLabelValues(o, a, r))
			}
		}
	}
	if reg != nil {
		reg.MustRegister(m.accessTotal, m.rotationTotal, m.deniedTotal, m.auditFailures, m.shredTotal)
	}
	return m
}

// access counts an access to name. Only pre-created series are touched:
// an unknown action or result (a programming error) is counted as "error".
func (m *Metrics) access(name, action, result string) {
	owner := policy.ServiceName(policy.Owner(name))
	if owner == "" {
		owner = ownerTenant
	}
	o, a, r := slices.Index(accessOwners, owner), slices.Index(accessActions, action), slices.Index(accessResults, result)
	if a < 0 || r < 0 {
		a, r = slices.Index(accessActions, "read"), slices.Index(accessResults, audit.ResultError)
	}
	if o < 0 { // a service prefix without a series (cannot happen: accessOwners lists them all)
		m.accessTotal.WithLabelValues(owner, accessActions[a], accessResults[r]).Inc()
		return
	}
	m.accessSeries[o][a][r].Inc()
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
