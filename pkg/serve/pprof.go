package serve

import (
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
)

// Contention sampling while a contention profile is taken (see MountPprof).
const (
	MutexProfileFraction = 100
	BlockProfileRate     = 100_000 // ns: about one sample per 100 µs blocked
)

// MountPprof adds net/http/pprof's handlers under /debug/pprof/ to mux.
// Callers mount it only when profiling was asked for (RAMPART_PPROF, dev
// profile only; see config.Common.Pprof): the admin address is loopback by
// default, but a profile still shows what the process is doing. The edge
// uses it for its own admin mux.
//
// The runtime's contention sampling, off by default, is on while a mutex or
// block profile is being taken: /debug/pprof/mutex?seconds=N and
// /debug/pprof/block?seconds=N answer the contention of those N seconds
// (one contended mutex event in MutexProfileFraction, blocking events about
// once per BlockProfileRate nanoseconds blocked). Sampling all the time, as
// it was (ADR 0054 amendment 2), cost 4–5 % of a loaded edge's or
// inference's CPU — a stack trace per sampled channel or lock wait — and so
// skewed every CPU profile taken next to it (ADR 0061). Without seconds the
// profiles hold what earlier timed requests sampled.
func MountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.Handle("GET /debug/pprof/mutex", sampleContention(pprof.Handler("mutex")))
	mux.Handle("GET /debug/pprof/block", sampleContention(pprof.Handler("block")))
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// contention counts the contention profiles being taken; sampling is on
// while there is one.
var contention struct {
	mu sync.Mutex
	n  int
}

func sampleContention(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setContention(1)
		defer setContention(-1)
		h.ServeHTTP(w, r)
	})
}

func setContention(delta int) {
	contention.mu.Lock()
	defer contention.mu.Unlock()
	contention.n += delta
	switch {
	case delta > 0 && contention.n == 1:
		runtime.SetMutexProfileFraction(MutexProfileFraction)
		runtime.SetBlockProfileRate(BlockProfileRate)
	case contention.n == 0:
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
	}
}
