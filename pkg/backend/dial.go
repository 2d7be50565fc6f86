package backend

import (
	"context"
	"fmt"
	"os"

	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// Dialer is the one way a Rampart service dials another: mTLS with the
// service's own certificate, accepting only the server
// spiffe://rampart.local/svc/<svc>, the request id propagated
// (pkg/serve.RequestIDDialOptions) and, when tracing is on, the trace
// context (pkg/telemetry). The principal assertion is not added here: a
// caller forwards its delegation for svc (principal.ForwardTo) or presents
// one it obtained itself, per call. Services get theirs from Env.Dialer; the edge builds one itself.
type Dialer struct {
	// TLS is the service's mTLS source (required).
	TLS *mtls.Source
	// Tracing adds client spans when enabled; nil means none.
	Tracing *telemetry.Tracing
	// Options are appended to every connection (e.g. the edge's client
	// metrics).
	Options []grpc.DialOption
}

// Dial returns a lazy connection to the Rampart service svc at addr (one
// host:port, a DNS name of several replicas, or a comma-separated list;
// balanced and retried as balanceOptions says); opts
// are appended after the Dialer's own. Nothing is dialled until the first
// call, so the other service need not be up yet.
func (d *Dialer) Dial(ctx context.Context, svc, addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if d == nil || d.TLS == nil {
		return nil, fmt.Errorf("dial %s at %s: no mTLS source", svc, addr)
	}
	target, all := balanceOptions(addr)
	all = append(all, serve.RequestIDDialOptions()...)
	all = append(all, serve.WindowDialOptions()...)
	all = append(all, d.Tracing.DialOptions()...)
	all = append(all, d.Options...)
	all = append(all, opts...)
	conn, err := mtls.Dial(ctx, target, d.TLS, pki.ServiceID(svc), all...)
	if err != nil {
		return nil, fmt.Errorf("dial %s at %s: %w", svc, addr, err)
	}
	return conn, nil
}

// Dialer returns the service's dialer (its mTLS source and tracing).
func (e *Env) Dialer() *Dialer { return &Dialer{TLS: e.TLS, Tracing: e.tracing} }

// Dial opens a connection to another Rampart service through Env.Dialer,
// addressed by RAMPART_<SVC>_ADDR (default: its conventions port on
// loopback; for auth, the service config's own auth address when it has
// one, see AuthTarget).
func (e *Env) Dial(ctx context.Context, svc string) (*grpc.ClientConn, error) {
	addr := os.Getenv(config.Prefix(svc) + "ADDR")
	if svc == "auth" && e.authAddr != "" {
		addr = e.authAddr
	}
	if addr == "" {
		addr = config.DefaultAddr(svc)
	}
	return e.Dialer().Dial(ctx, svc, addr)
}
