package reqstate

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// Recorder remembers the status and size of a response (the access log's
// writer). It keeps Flush and Hijack reachable (SSE needs Flush) and
// supports http.ResponseController through Unwrap. It lives in the
// request's State (State.Response), so the access log's writer is part of
// the State's one allocation rather than one more per request (issue 15,
// ADR 0090).
type Recorder struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (r *Recorder) Flush() {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack implements http.Hijacker.
func (r *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := r.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// Unwrap returns the wrapped writer (http.ResponseController).
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Wrote reports whether a status went out (or was decided by a write).
func (r *Recorder) Wrote() bool { return r.Status != 0 }

// Recorder returns a Recorder around w: the State's own when it is free,
// a new one when the State's is already in use (a second access log in
// one chain would otherwise wrap itself).
func (s *State) Recorder(w http.ResponseWriter) *Recorder {
	if s.Response.ResponseWriter != nil {
		return &Recorder{ResponseWriter: w}
	}
	s.Response = Recorder{ResponseWriter: w}
	return &s.Response
}
