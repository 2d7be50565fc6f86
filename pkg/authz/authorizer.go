package authz

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	grpcauthz "google.golang.org/grpc/authz"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Authorizer holds the current compiled policy and provides the server
// interceptors enforcing it.
type Authorizer struct {
	cur  atomic.Pointer[grpcauthz.StaticInterceptor]
	stop context.CancelFunc
	done sync.WaitGroup
}

// New returns an Authorizer for a fixed Rampart policy.
func New(policyJSON []byte) (*Authorizer, error) {
	engine, err := build(policyJSON)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{stop: func() {}}
	a.cur.Store(engine)
	return a, nil
}

// Interceptors returns the unary and stream server interceptors enforcing a
// fixed Rampart policy.
func Interceptors(policyJSON []byte) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor, error) {
	a, err := New(policyJSON)
	if err != nil {
		return nil, nil, err
	}
	return a.UnaryInterceptor, a.StreamInterceptor, nil
}

// FromFile loads the Rampart policy at path and re-reads it every refresh
// until Close. A changed file that fails to parse is logged and ignored: the
// last good policy stays in force, so a bad edit never opens or closes
// everything. (grpc-go's own FileWatcher reads only the SDK format.)
func FromFile(path string, refresh time.Duration, log *slog.Logger) (*Authorizer, error) {
	if refresh <= 0 {
		return nil, fmt.Errorf("authz policy %s: refresh must be positive", path)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authz policy: %w", err)
	}
	a, err := New(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		a.watch(ctx, path, refresh, data, log)
	}()
	return a, nil
}

func (a *Authorizer) watch(ctx context.Context, path string, refresh time.Duration, last []byte, log *slog.Logger) {
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			log.Warn("authz policy unreadable; keeping the current one", "path", path, "error", err)
			continue
		}
		if bytes.Equal(data, last) {
			continue
		}
		last = data
		engine, err := build(data)
		if err != nil {
			log.Error("authz policy invalid; keeping the current one", "path", path, "error", err)
			continue
		}
		a.cur.Store(engine)
		log.Info("authz policy reloaded", "path", path)
	}
}

// Close stops watching the policy file, if any.
func (a *Authorizer) Close() {
	a.stop()
	a.done.Wait()
}

func build(policyJSON []byte) (*grpcauthz.StaticInterceptor, error) {
	sdk, err := Compile(policyJSON)
	if err != nil {
		return nil, err
	}
	engine, err := grpcauthz.NewStatic(sdk)
	if err != nil {
		return nil, fmt.Errorf("authz policy: %w", err)
	}
	return engine, nil
}

// UnaryInterceptor denies unary calls the policy does not allow.
func (a *Authorizer) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	// Ask the engine with a no-op handler so a PermissionDenied from the
	// real handler is never mistaken for (and rewritten as) a policy denial.
	if _, err := a.cur.Load().UnaryInterceptor(ctx, req, info, allowUnary); err != nil {
		return nil, denial(err, info.FullMethod)
	}
	return handler(ctx, req)
}

// StreamInterceptor denies streaming calls the policy does not allow.
func (a *Authorizer) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.cur.Load().StreamInterceptor(srv, ss, info, allowStream); err != nil {
		return denial(err, info.FullMethod)
	}
	return handler(srv, ss)
}

func allowUnary(context.Context, any) (any, error) { return nil, nil }
func allowStream(any, grpc.ServerStream) error     { return nil }

// denial names the method, never the policy, so callers learn what they
// were refused without learning who else is allowed.
func denial(err error, method string) error {
	if status.Code(err) == codes.PermissionDenied {
		return status.Errorf(codes.PermissionDenied, "permission denied: caller is not allowed to call %s", method)
	}
	return err
}
