package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// Store is what the sweeper needs of the usage store.
type Store interface {
	RollUpRaw(ctx context.Context, cutoff time.Time, from store.Cursor, batch int) (int64, store.Cursor, error)
	RollUpHourly(ctx context.Context, cutoff time.Time, from store.Cursor, batch int) (int64, store.Cursor, error)
	PromptLogTenants(ctx context.Context) ([]string, error)
	PurgePromptLogs(ctx context.Context, tenant string, cutoff time.Time, limit int) (int64, error)
	StoredResponseTenants(ctx context.Context) ([]string, error)
	PurgeStoredResponses(ctx context.Context, tenant string, cutoff time.Time, limit int) (int64, error)
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Policy says how long data is kept.
type Policy struct {
	// RawUsage is how long raw usage rows (one per request) are kept
	// before they are rolled up per key, model and hour.
	RawUsage time.Duration
	// HourlyUsage is how long hourly rows are kept before they are rolled
	// up per key, model and day. Daily rows are kept.
	HourlyUsage time.Duration
	// PromptLogs returns a tenant's prompt-log retention. Stored
	// Responses API responses (store: true) are kept as long: they hold
	// the same kind of data, sealed with the same key.
	PromptLogs func(tenant string) time.Duration
}

// Validate checks the policy: retentions of at least an hour, and hourly
// rows kept longer than raw rows (the hourly rollup reads what the raw
// rollup wrote).
func (p Policy) Validate() error {
	var errs []error
	if p.RawUsage < time.Hour {
		errs = append(errs, fmt.Errorf("raw usage retention must be at least 1h, got %s", p.RawUsage))
	}
	if p.HourlyUsage < p.RawUsage+24*time.Hour {
		errs = append(errs, fmt.Errorf("hourly usage retention (%s) must be at least a day longer than the raw retention (%s)", p.HourlyUsage, p.RawUsage))
	}
	if p.PromptLogs == nil {
		errs = append(errs, errors.New("prompt log retention missing"))
	}
	return errors.Join(errs...)
}

// Cutoffs returns the instants before which raw rows and hourly rows are
// rolled up at now: aligned down to the hour and the day, so a rollup only
// ever folds whole buckets and usage ranges on day boundaries stay exact.
func (p Policy) Cutoffs(now time.Time) (raw, hourly time.Time) {
	return store.BucketStart(now.Add(-p.RawUsage), store.Hourly), store.BucketStart(now.Add(-p.HourlyUsage), store.Daily)
}

// leaseName is the sweep_leases row of this sweeper.
const leaseName = "inference-retention"

// Batch sizes: one transaction each, short enough not to hold up the
// usage recorder's inserts for long.
const (
	rawBatch    = 2000
	hourlyBatch = 2000
	purgeBatch  = 500
)

// Sweeper runs the policy periodically.
type Sweeper struct {
	store    Store
	policy   Policy
	log      *slog.Logger
	interval time.Duration
	holder   string
	now      func() time.Time
	metrics  *metrics
}

// Options configure a sweeper.
type Options struct {
	// Interval between passes (default 10 minutes).
	Interval time.Duration
	// Registerer receives the metrics (nil: unregistered).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// New returns a sweeper; Run starts it.
func New(s Store, p Policy, log *slog.Logger, o Options) (*Sweeper, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sweeper{store: s, policy: p, log: log, interval: o.Interval, holder: holderID(), now: o.Now, metrics: newMetrics(o.Registerer)}, nil
}

// holderID names this replica in the lease row: host name and a random
// suffix (two processes on one host are two holders).
func holderID() string {
	h, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return h + "-" + hex.EncodeToString(b)
}

// Run sweeps every interval until ctx ends, then releases the lease.
func (s *Sweeper) Run(ctx context.Context) {
	periodic.Every(ctx, s.interval, func(ctx context.Context) {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("retention sweep", "err", err)
		}
	}, periodic.AtStart())
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if err := s.store.ReleaseLease(rctx, leaseName, s.holder); err != nil {
		s.log.Warn("retention: release lease", "err", err)
	}
	cancel()
}

// Result is what one pass did.
type Result struct {
	// Leased is false when another replica held the lease (nothing done).
	Leased                      bool
	RawRolledUp, HourlyRolledUp int64
	PromptLogsPurged            int64
	StoredResponsesPurged       int64
}

// Sweep runs one pass if this replica gets the lease.
func (s *Sweeper) Sweep(ctx context.Context) (Result, error) {
	var r Result
	now := s.now()
	// The lease outlives a pass: it is renewed between batches, and a
	// replica that dies leaves it to expire.
	ttl := 2 * s.interval
	ok, err := s.store.TryLease(ctx, leaseName, s.holder, now, ttl)
	if err != nil {
		s.metrics.sweeps.WithLabelValues("error").Inc()
		return r, err
	}
	if !ok {
		s.metrics.sweeps.WithLabelValues("not_leader").Inc()
		return r, nil
	}
	r.Leased = true
	err = s.sweep(ctx, now, ttl, &r)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.metrics.sweeps.WithLabelValues(outcome).Inc()
	return r, err
}

func (s *Sweeper) sweep(ctx context.Context, now time.Time, ttl time.Duration, r *Result) error {
	rawCut, hourCut := s.policy.Cutoffs(now)
	// renew keeps the lease while a long pass runs; losing it stops the
	// pass (another replica took over after an expiry).
	renew := func() error {
		ok, err := s.store.TryLease(ctx, leaseName, s.holder, s.now(), ttl)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("retention: lease lost")
		}
		return nil
	}
	var err error
	if r.RawRolledUp, err = rollUp(ctx, s.store.RollUpRaw, rawCut, rawBatch, s.metrics.rolledUp.WithLabelValues("raw"), renew); err != nil {
		return err
	}
	if r.HourlyRolledUp, err = rollUp(ctx, s.store.RollUpHourly, hourCut, hourlyBatch, s.metrics.rolledUp.WithLabelValues("hourly"), renew); err != nil {
		return err
	}
	if r.PromptLogsPurged, err = s.purgeTenants(ctx, now, s.store.PromptLogTenants, s.store.PurgePromptLogs, s.metrics.purged, renew); err != nil {
		return err
	}
	if r.StoredResponsesPurged, err = s.purgeTenants(ctx, now, s.store.StoredResponseTenants, s.store.PurgeStoredResponses, s.metrics.responsesPurged, renew); err != nil {
		return err
	}
	if r.RawRolledUp+r.HourlyRolledUp+r.PromptLogsPurged+r.StoredResponsesPurged > 0 {
		s.log.Info("retention sweep", "raw_rolled_up", r.RawRolledUp, "hourly_rolled_up", r.HourlyRolledUp,
			"prompt_logs_purged", r.PromptLogsPurged, "stored_responses_purged", r.StoredResponsesPurged)
	}
	return nil
}

// rollUp runs one rollup level in batches, each continuing from the
// previous batch's cursor, until a batch rolls up nothing; the lease is
// renewed between batches.
func rollUp(ctx context.Context, batch func(context.Context, time.Time, store.Cursor, int) (int64, store.Cursor, error),
	cut time.Time, size int, rolled prometheus.Counter, renew func() error,
) (int64, error) {
	var total int64
	var cur store.Cursor
	for {
		n, next, err := batch(ctx, cut, cur, size)
		if err != nil {
			return total, err
		}
		cur = next
		total += n
		rolled.Add(float64(n))
		if n == 0 {
			return total, nil
		}
		if err := renew(); err != nil {
			return total, err
		}
	}
}

// purgeTenants deletes, tenant by tenant, the rows older than the tenant's
// prompt-log retention, in batches, renewing the lease between batches.
func (s *Sweeper) purgeTenants(ctx context.Context, now time.Time,
	tenants func(context.Context) ([]string, error),
	purge func(ctx context.Context, tenant string, before time.Time, limit int) (int64, error),
	purged prometheus.Counter, renew func() error,
) (int64, error) {
	ts, err := tenants(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range ts {
		cut := now.Add(-s.policy.PromptLogs(t))
		for {
			n, err := purge(ctx, t, cut, purgeBatch)
			if err != nil {
				return total, err
			}
			total += n
			purged.Add(float64(n))
			if n < purgeBatch {
				break
			}
			if err := renew(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

type metrics struct {
	rolledUp *prometheus.CounterVec
	purged   prometheus.Counter
	// responsesPurged counts stored Responses API responses deleted.
	responsesPurged prometheus.Counter
	sweeps          *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rolledUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inference_usage_rows_rolled_up_total",
			Help: "Usage rows folded into coarser rows by the retention sweeper, by source level (raw: into hourly rows, hourly: into daily rows).",
		}, []string{"level"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_inference_prompt_logs_purged_total", Help: "Prompt logs deleted by the retention sweeper (past their tenant's retention).",
		}),
		responsesPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_inference_stored_responses_purged_total", Help: "Stored Responses API responses deleted by the retention sweeper (past their tenant's prompt-log retention).",
		}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inference_retention_sweeps_total", Help: "Retention sweeper passes by outcome (ok, error, not_leader: another replica held the lease).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.rolledUp, m.purged, m.responsesPurged, m.sweeps)
	}
	return m
}
