package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// VerifyCache remembers assertions it has verified until they expire, so a
// key making many calls costs one Ed25519 verification per assertion (the
// edge reuses an assertion for its lifetime) instead of one per call. The
// cache key is the whole token, signature included: a different byte is a
// different entry and is verified from scratch.
type VerifyCache struct {
	v   *principal.Verifier
	now func() time.Time
	max int

	mu sync.RWMutex
	m  map[string]cached
}

type cached struct {
	p   *authv1.Principal
	exp time.Time
}

// NewVerifyCache wraps v, holding at most max assertions.
func NewVerifyCache(v *principal.Verifier, maxEntries int) *VerifyCache {
	return &VerifyCache{v: v, now: time.Now, max: maxEntries, m: make(map[string]cached)}
}

// Verify returns the principal of a valid, unexpired assertion.
func (c *VerifyCache) Verify(token string) (*authv1.Principal, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.p, nil
	}
	p, err := c.v.Verify(token)
	if err != nil {
		return nil, err
	}
	exp := time.Unix(p.GetExpiresAt(), 0)
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if !now.Before(v.exp) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[token] = cached{p: p, exp: exp}
	c.mu.Unlock()
	return p, nil
}

func isHealth(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

func (c *VerifyCache) authenticate(ctx context.Context, method string) (context.Context, error) {
	if isHealth(method) {
		return ctx, nil
	}
	var token string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(principal.MetadataKey); len(v) == 1 {
			token = v[0]
		}
	}
	p, err := c.Verify(token)
	if err != nil {
		msg := "invalid principal assertion"
		switch {
		case errors.Is(err, principal.ErrMissing):
			msg = "missing principal assertion"
		case errors.Is(err, principal.ErrExpired):
			msg = "principal assertion expired"
		case errors.Is(err, principal.ErrUnknownKey):
			msg = "principal assertion signed by an unknown key"
		}
		return ctx, status.Error(codes.Unauthenticated, msg)
	}
	return logging.WithTenantID(principal.NewContext(ctx, p), p.GetTenantId()), nil
}

// UnaryInterceptor verifies the principal of every call but health checks.
func (c *VerifyCache) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := c.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamInterceptor is the streaming twin of UnaryInterceptor.
func (c *VerifyCache) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := c.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
