package serve

import (
	"net/http"
	"net/http/pprof"
)

// MountPprof adds net/http/pprof's handlers under /debug/pprof/ to mux.
// Callers mount it only when profiling was asked for (RAMPART_PPROF, dev
// profile only; see config.Common.Pprof): the admin address is loopback by
// default, but a profile still shows what the process is doing. The edge
// uses it for its own admin mux.
func MountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
