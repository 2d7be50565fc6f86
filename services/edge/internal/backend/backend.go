package backend

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
)

// Target is one backend to dial.
type Target struct {
	Name string // service name: auth, keyvault, ...
	Addr string // host:port; "" means not configured
	// Options are dial options of this target only, after the Dialer's.
	Options []grpc.DialOption
}

// StaticWindows fixes a connection's HTTP/2 flow-control windows (1 MiB
// per stream, 4 MiB per connection), which turns grpc-go's bandwidth-delay
// estimation off. That estimation sends a PING, and with it a connection
// WINDOW_UPDATE, whenever data arrives while no PING is out: for
// sequential small calls, one PING and one PING ack per call in each
// direction — frames, writes and goroutine wake-ups on both sides that
// the call itself does not need (ADR 0055). Windows of 1 MiB hold any
// secret call's message; a larger one waits for a window update once per
// 256 KiB received.
func StaticWindows() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithInitialWindowSize(1 << 20), grpc.WithInitialConnWindowSize(1 << 22)}
}

// Set holds the client connections by service name.
type Set struct {
	conns map[string]*grpc.ClientConn
}

// Dial creates a lazy connection to every configured target through d
// (pkg/backend's one outgoing dial: mTLS verified against
// spiffe://rampart.local/svc/<name>, request id, tracing).
func Dial(ctx context.Context, d *pkgbackend.Dialer, targets []Target) (*Set, error) {
	s := &Set{conns: map[string]*grpc.ClientConn{}}
	for _, t := range targets {
		if t.Addr == "" {
			continue
		}
		conn, err := d.Dial(ctx, t.Name, t.Addr, t.Options...)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("backend %s: %w", t.Name, err)
		}
		s.conns[t.Name] = conn
	}
	return s, nil
}

// Conn returns the connection to a service, or nil if it is not configured.
// The nil is an untyped interface nil, safe to compare.
func (s *Set) Conn(name string) grpc.ClientConnInterface {
	if c, ok := s.conns[name]; ok {
		return c
	}
	return nil
}

// Close closes every connection.
func (s *Set) Close() error {
	var errs []error
	for _, c := range s.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Prober checks that a backend answers, caching the answer briefly so a
// burst of /readyz probes costs one round trip.
type Prober struct {
	health healthpb.HealthClient
	ttl    time.Duration

	mu      sync.Mutex
	checked time.Time
	last    error
}

// NewProber returns a prober over conn.
func NewProber(conn grpc.ClientConnInterface, ttl time.Duration) *Prober {
	return &Prober{health: healthpb.NewHealthClient(conn), ttl: ttl}
}

// ErrUnreachable is the readiness error when auth does not answer.
var ErrUnreachable = errors.New("auth is unreachable")

// Check returns nil when the backend answered a health check recently. A
// server without the health service still proves it is reachable.
func (p *Prober) Check(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.checked.IsZero() && time.Since(p.checked) < p.ttl {
		return p.last
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := p.health.Check(cctx, &healthpb.HealthCheckRequest{})
	switch {
	case err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
		p.last = nil
	case status.Code(err) == codes.Unimplemented:
		p.last = nil
	default:
		p.last = ErrUnreachable
	}
	p.checked = time.Now()
	return p.last
}
