package serve

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// Contention sampling while pprof is served (see MountPprof).
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
// It also turns on the runtime's contention sampling, off by default: without
// it /debug/pprof/mutex and /debug/pprof/block answer empty profiles, and
// "what serialises at concurrency 64" (issue 15) cannot be asked of a running
// stack. One contended mutex event in MutexProfileFraction is recorded, and
// blocking events are sampled about once per BlockProfileRate nanoseconds
// blocked: both cost little next to the events they sample, and only in a
// process that asked for profiling.
func MountPprof(mux *http.ServeMux) {
	runtime.SetMutexProfileFraction(MutexProfileFraction)
	runtime.SetBlockProfileRate(BlockProfileRate)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
