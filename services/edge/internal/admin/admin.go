package admin

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rampart-platform/rampart/pkg/serve"
)

// Readiness is the edge's readiness: false while draining, otherwise the
// result of the check (auth reachable).
type Readiness struct {
	draining atomic.Bool
	check    func(context.Context) error
}

// NewReadiness returns a readiness gate over check (nil: always ready).
func NewReadiness(check func(context.Context) error) *Readiness {
	return &Readiness{check: check}
}

// errDraining is reported while shutting down.
type errDraining struct{}

func (errDraining) Error() string { return "shutting down" }

// SetDraining marks the edge as shutting down: /readyz fails from now on.
func (r *Readiness) SetDraining() { r.draining.Store(true) }

// Ready returns nil when the edge should receive traffic.
func (r *Readiness) Ready(ctx context.Context) error {
	if r.draining.Load() {
		return errDraining{}
	}
	if r.check == nil {
		return nil
	}
	return r.check(ctx)
}

// Handler returns the admin mux; withPprof adds /debug/pprof/ (RAMPART_PPROF,
// dev profile only).
func Handler(reg prometheus.Gatherer, ready *Readiness, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if withPprof {
		serve.MountPprof(mux)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := ready.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"not ready","reason":"` + err.Error() + `"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	return mux
}
