package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// MaxTTL bounds how long a verified key may be served from the cache.
const MaxTTL = 30 * time.Second

// assertionMargin keeps a cached assertion from being forwarded in its last
// seconds, so it is still valid when the backend checks it.
const assertionMargin = 10 * time.Second

var (
	// ErrMissingKey means the request carried no API key.
	ErrMissingKey = errors.New("authn: no API key")
	// ErrMalformedKey means the key failed the format or checksum check; auth
	// was not called.
	ErrMalformedKey = errors.New("authn: malformed API key")
	// ErrInvalidKey means auth rejected the key (unknown, wrong secret,
	// revoked, expired — deliberately not told apart).
	ErrInvalidKey = errors.New("authn: invalid API key")
	// ErrTenantSuspended means the key is right in every way (secret,
	// state, expiry) but its tenant is suspended: auth says so only to
	// whoever holds the key's secret (ADR 0123 §2), so telling it is no
	// oracle for a wrong key (ADR 0132 §2).
	ErrTenantSuspended = errors.New("authn: the key's tenant is suspended")
	// ErrTenantDeleted is ErrTenantSuspended for a deleted tenant (waiting
	// for its purge).
	ErrTenantDeleted = errors.New("authn: the key's tenant is deleted")
	// ErrAuthUnavailable means auth could not be asked.
	ErrAuthUnavailable = errors.New("authn: auth service unavailable")
	// ErrThrottled means auth refused to verify more keys for now.
	ErrThrottled = errors.New("authn: too many verification attempts")
)

// AuthClient is the part of auth's AuthService the edge uses.
type AuthClient interface {
	VerifyKey(ctx context.Context, in *authv1.VerifyKeyRequest, opts ...grpc.CallOption) (*authv1.VerifyKeyResponse, error)
	WatchRevocations(ctx context.Context, in *authv1.WatchRevocationsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[authv1.WatchRevocationsResponse], error)
}

// Options configures an Authenticator.
type Options struct {
	Client AuthClient
	// TTL is how long a verified key is served from the cache while the
	// revocation stream is connected (default and maximum MaxTTL).
	TTL time.Duration
	// DegradedTTL replaces TTL while the stream is down or resyncing
	// (default 1 s).
	DegradedTTL time.Duration
	// MaxEntries bounds the cache (default 10000).
	MaxEntries int
	// VerifyTimeout bounds one VerifyKey call (default 5 s).
	VerifyTimeout time.Duration
	Logger        *slog.Logger
	Metrics       *Metrics
	// Now is the clock (tests).
	Now func() time.Time
}

// Identity is a verified key: the principal and the assertions to forward.
type Identity struct {
	Principal *authv1.Principal
	// Assertion is the assertion for the first of Audiences (tests).
	Assertion string
	// Forwardings are what a call to each backend carries: the assertion
	// for that service and the delegations for those it forwards to.
	Forwardings map[string]principal.Forwarding
}

// For is what a call to the backend service svc carries (empty for a
// service the edge holds no assertion for: the call is refused there).
func (id Identity) For(svc string) principal.Forwarding { return id.Forwardings[svc] }

// Audiences are the services the edge asks auth for assertions for: every
// service it calls with a principal (ADR 0083). Each backend gets its own
// assertion, so one cannot replay what it was sent at another.
var Audiences = permissions.Default().Audiences(permissions.Edge)

// Authenticator verifies API keys through a revocation-aware cache.
type Authenticator struct {
	client        AuthClient
	cache         *cache
	sf            singleflight.Group
	ttl           time.Duration
	degradedTTL   time.Duration
	verifyTimeout time.Duration
	log           *slog.Logger
	metrics       *Metrics
	now           func() time.Time

	streams liveStreams // open requests of streaming routes, ended by revocations

	stateMu   sync.Mutex
	connected atomic.Bool  // revocation stream up and resynced
	cursor    atomic.Int64 // last revocation cursor applied
}

// New returns an Authenticator. Call Watch in a goroutine to follow
// revocations; until it connects, the degraded TTL applies.
func New(o Options) (*Authenticator, error) {
	if o.Client == nil {
		return nil, errors.New("authn: auth client is required")
	}
	if o.TTL <= 0 || o.TTL > MaxTTL {
		o.TTL = MaxTTL
	}
	if o.DegradedTTL <= 0 || o.DegradedTTL > o.TTL {
		o.DegradedTTL = min(time.Second, o.TTL)
	}
	if o.VerifyTimeout <= 0 {
		o.VerifyTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Authenticator{
		client: o.Client, cache: newCache(o.MaxEntries), ttl: o.TTL, degradedTTL: o.DegradedTTL,
		verifyTimeout: o.VerifyTimeout, log: o.Logger, metrics: o.Metrics, now: o.Now,
	}, nil
}

// CurrentTTL is the cache freshness bound in force: TTL while the
// revocation stream is healthy, DegradedTTL otherwise.
func (a *Authenticator) CurrentTTL() time.Duration {
	if a.connected.Load() {
		return a.ttl
	}
	return a.degradedTTL
}

// Synced reports whether the revocation stream is connected and resynced.
func (a *Authenticator) Synced() bool { return a.connected.Load() }

// OpenStreams is the number of open requests of streaming routes (tests).
func (a *Authenticator) OpenStreams() int { return a.streams.count() }

// CacheLen returns the number of cached keys.
func (a *Authenticator) CacheLen() int { return a.cache.len() }

// Authenticate verifies a presented key. sourceIP is passed to auth for its
// audit of failures.
func (a *Authenticator) Authenticate(ctx context.Context, presented, sourceIP string) (Identity, error) {
	if presented == "" {
		return Identity{}, ErrMissingKey
	}
	// The cache first: an entry exists only for a string that parsed and
	// that auth verified, and it is found only for the same id and the
	// same SHA-256 of the whole string, so parsing it again (its checksum
	// ~1 % of the edge's CPU per request, issue 15) would succeed.
	ck, shaped := cacheKeyOf(presented)
	if shaped {
		if e, ok := a.cache.get(ck, a.now(), a.CurrentTTL()); ok {
			a.metrics.result("hit")
			return Identity{Principal: e.principal, Assertion: e.assertion, Forwardings: e.fwd}, nil
		}
	}
	if _, err := apikey.Parse(presented); err != nil {
		a.metrics.result("malformed")
		return Identity{}, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	// A key that parses has the shape cacheKeyOf reads, and its ck.id is
	// the parsed id (TestCacheKeyOfEveryParsedKey, FuzzCacheKeyOf); were
	// that ever not so, verify refuses auth's principal for another key
	// id, so nothing would be cached under a wrong id.
	v, err, _ := a.sf.Do(ck.id+string(ck.sum[:]), func() (any, error) {
		return a.verify(ctx, ck, presented, sourceIP)
	})
	if err != nil {
		return Identity{}, err
	}
	e, _ := v.(*entry) // verify returns only *entry
	return Identity{Principal: e.principal, Assertion: e.assertion, Forwardings: e.fwd}, nil
}

func (a *Authenticator) verify(ctx context.Context, ck cacheKey, presented, sourceIP string) (*entry, error) {
	epoch := a.cache.currentEpoch()
	// The call is shared by every waiter of the singleflight: it must not
	// die with the first caller's request.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.verifyTimeout)
	defer cancel()
	if id := logging.RequestID(ctx); id != "" {
		cctx = metadata.AppendToOutgoingContext(cctx, "x-request-id", id)
	}
	resp, err := a.client.VerifyKey(cctx, &authv1.VerifyKeyRequest{ApiKey: presented, SourceIp: sourceIP, Audiences: Audiences})
	if err != nil {
		switch status.Code(err) {
		case codes.Unauthenticated, codes.NotFound, codes.PermissionDenied, codes.InvalidArgument:
			a.metrics.result("rejected")
			return nil, notActiveOr(err)
		case codes.ResourceExhausted:
			a.metrics.result("throttled")
			return nil, ErrThrottled
		default:
			a.metrics.result("error")
			return nil, fmt.Errorf("%w: %s: %s", ErrAuthUnavailable, status.Code(err), status.Convert(err).Message())
		}
	}
	p := resp.GetPrincipal()
	by := principal.ByAudience(resp.GetAssertions())
	if p.GetTenantId() == "" || p.GetKeyId() != ck.id || resp.GetAssertion() == "" || len(by) != len(Audiences) {
		a.metrics.result("error")
		return nil, fmt.Errorf("%w: VerifyKey returned an incomplete principal", ErrAuthUnavailable)
	}
	a.metrics.result("miss")
	now := a.now()
	e := &entry{principal: p, assertion: resp.GetAssertion(), fwd: principal.Forwardings(by, permissions.Default().Delegates),
		tenant: p.GetTenantId(), stored: now, expires: now.Add(a.ttl)}
	if cu := resp.GetCacheUntil(); cu > 0 {
		e.expires = minTime(e.expires, time.Unix(cu, 0))
	}
	if exp := p.GetExpiresAt(); exp > 0 {
		e.expires = minTime(e.expires, time.Unix(exp, 0).Add(-assertionMargin))
	}
	if e.expires.After(now) {
		a.cache.put(ck, e, epoch)
	}
	return e, nil
}

// notActiveOr is the refusal of a key auth rejected: ErrTenantSuspended
// or ErrTenantDeleted when auth's refusal is Unauthenticated with the
// ErrorInfo it attaches only for a key right in every way but its tenant's
// state, else ErrInvalidKey.
func notActiveOr(err error) error {
	if status.Code(err) != codes.Unauthenticated {
		return ErrInvalidKey
	}
	switch grpcerr.TenantNotActive(err) {
	case grpcerr.ReasonTenantSuspended:
		return ErrTenantSuspended
	case grpcerr.ReasonTenantDeleted:
		return ErrTenantDeleted
	}
	return ErrInvalidKey
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
