package devstack

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// control is the --ha stack's process API, for chaos tests: list the
// processes, SIGKILL one, restart it on its old addresses. It is a dev
// tool on loopback, behind a random bearer token that only dev.env (0600)
// holds; no Rampart service has anything like it.
//
//	GET  /v1/processes               every process, pid and addresses
//	POST /v1/processes/{name}/kill     kill -9, wait until it is gone
//	POST /v1/processes/{name}/restart  start again, wait until healthy
type control struct {
	url, token string
	srv        *http.Server
}

// Process is one entry of GET /v1/processes.
type Process struct {
	Name       string `json:"name"`
	Service    string `json:"service"`
	Replica    int    `json:"replica"`
	Pid        int    `json:"pid,omitempty"`
	Running    bool   `json:"running"`
	ListenAddr string `json:"listen_addr"`
	AdminAddr  string `json:"admin_addr"`
}

func startControl(ctx context.Context, s *supervisor, svcs []*service) (*control, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &control{url: "http://" + ln.Addr().String(), token: hex.EncodeToString(b[:])}
	h := &controlHandler{ctx: ctx, s: s, svcs: svcs}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/processes", h.list)
	mux.HandleFunc("POST /v1/processes/{name}/kill", h.kill)
	mux.HandleFunc("POST /v1/processes/{name}/restart", h.restart)
	want := []byte("Bearer " + c.token)
	c.srv = &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bearer token from dev.env (RAMPART_DEV_CONTROL_TOKEN) required"})
				return
			}
			mux.ServeHTTP(w, r)
		}),
	}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

func (c *control) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
}

type controlHandler struct {
	ctx  context.Context
	s    *supervisor
	svcs []*service
	// One kill or restart at a time.
	mu sync.Mutex
}

func (h *controlHandler) list(w http.ResponseWriter, _ *http.Request) {
	out := make([]Process, 0, len(h.svcs))
	for _, sv := range h.svcs {
		pid, running := h.s.running(sv)
		out = append(out, Process{Name: sv.name, Service: sv.svc, Replica: sv.replica, Pid: pid, Running: running,
			ListenAddr: sv.listenAddr, AdminAddr: sv.adminAddr})
	}
	writeJSON(w, http.StatusOK, map[string]any{"processes": out})
}

func (h *controlHandler) kill(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, func(sv *service) (int, error) { return h.s.kill(sv) })
}

func (h *controlHandler) restart(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, func(sv *service) (int, error) {
		start := time.Now()
		pid, err := h.s.restart(h.ctx, sv)
		if err == nil {
			h.s.logf("  %-14s restarted (pid %d), healthy after %s\n", sv.name, pid, time.Since(start).Round(time.Millisecond))
		}
		return pid, err
	})
}

func (h *controlHandler) act(w http.ResponseWriter, r *http.Request, do func(*service) (int, error)) {
	name := r.PathValue("name")
	var sv *service
	for _, x := range h.svcs {
		if x.name == name {
			sv = x
		}
	}
	if sv == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no process named " + name})
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	pid, err := do(sv)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, errRunning) || errors.Is(err, errNotRunning) {
			code = http.StatusConflict
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": sv.name, "pid": pid})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
