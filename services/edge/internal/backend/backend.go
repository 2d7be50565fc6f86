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
		conn, err := d.Dial(ctx, t.Name, t.Addr)
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
