package authtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// KeyvaultPolicy mirrors the rules of auth's embedded allow-list that
// concern keyvault (services/auth/internal/server/policy.json).
var KeyvaultPolicy = []byte(`{"rules": [
 {"methods": ["/rampart.auth.v1.AuthService/GetSigningKeys", "/rampart.auth.v1.AuthService/WatchTenantEvents"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/keyvault"]},
 {"methods": ["/rampart.auth.v1.AuthService/VerifyKey"],
  "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/keyvault"]},
 {"methods": ["/rampart.auth.v1.KeyService/GetKey", "/rampart.auth.v1.KeyService/RotateKey"],
  "callers": ["spiffe://rampart.local/svc/keyvault"]}
]}`)

// Options configure Start. The zero value is a server with a fresh signing
// key that admits every mTLS caller.
type Options struct {
	// Signer mints the principal assertions (and its public key is served
	// by GetSigningKeys); nil generates a fresh Ed25519 key with kid
	// "authtest".
	Signer *principal.Signer
	// Policy is a pkg/authz allow-list of callers per method; nil admits
	// every caller with a certificate of the test PKI.
	Policy []byte
}

// Server is the running stand-in.
type Server struct {
	authv1.UnimplementedAuthServiceServer
	authv1.UnimplementedKeyServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string
	// Verifier checks assertions minted by this server.
	Verifier *principal.Verifier
	// VerifyCalls counts VerifyKey calls.
	VerifyCalls atomic.Int64
	// CacheUntil, when non-zero, is returned as VerifyKeyResponse.cache_until.
	CacheUntil atomic.Int64
	// LimitsCalls counts GetTenantLimits calls.
	LimitsCalls atomic.Int64

	signer *principal.Signer
	grpc   *grpc.Server

	mu        sync.Mutex
	keys      map[string]*key // key id → key
	revokeNew bool
	created   []Created
	recovered []Recovered
	lastMD    metadata.MD
	limits    map[string]*authv1.TenantLimits // tenant → SetTenantLimits
	limitsErr error
	// suspended: tenant → reason its right keys are refused with
	// (SuspendTenant).
	suspended map[string]string
	// bootstrapped: Bootstrap issued the deployment's first owner key.
	bootstrapped bool

	revocations []*authv1.WatchRevocationsResponse
	tenantEvs   []*authv1.WatchTenantEventsResponse
	changed     chan struct{} // closed and replaced on every new event
	cancels     map[int]context.CancelFunc
	nextStream  int
	tenantAsked []int64

	watches     chan int64
	streams     atomic.Int64 // WatchRevocations subscriptions served so far
	refuse      atomic.Bool  // refuse new subscriptions (auth "down" for the streams)
	endCaughtUp atomic.Bool  // end tenant streams once caught up
}

// Start serves a new stand-in with the default Options and the "auth"
// certificate of certDir (pkitest.NewDir(t, "auth", ...)).
func Start(t testing.TB, certDir string) *Server {
	t.Helper()
	return StartWith(t, certDir, Options{})
}

// StartWith serves a new stand-in configured by o.
func StartWith(t testing.TB, certDir string, o Options) *Server {
	t.Helper()
	signer := o.Signer
	if signer == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		signer, err = principal.NewSigner("authtest", priv, principal.MaxTTL)
		require.NoError(t, err)
	}
	s := &Server{
		signer:   signer,
		Verifier: principal.NewVerifier(principal.StaticKeys{signer.KID(): signer.PublicKey()}),
		keys:     map[string]*key{},
		limits:   map[string]*authv1.TenantLimits{},
		changed:  make(chan struct{}),
		cancels:  map[int]context.CancelFunc{},
		watches:  make(chan int64, 64),
	}
	// auth does not ask for an assertion where the caller has none yet
	// (VerifyKey, the operator's Bootstrap and RecoverOwner) or acts as a
	// service.
	exempt := principal.ExemptMethods(
		authv1.AuthService_VerifyKey_FullMethodName,
		authv1.AuthService_GetSigningKeys_FullMethodName,
		authv1.AuthService_WatchRevocations_FullMethodName,
		authv1.AuthService_WatchTenantEvents_FullMethodName,
		authv1.AuthService_GetTenantLimits_FullMethodName,
		authv1.AuthService_Bootstrap_FullMethodName,
		authv1.AuthService_RecoverOwner_FullMethodName,
	)
	var unary []grpc.UnaryServerInterceptor
	var stream []grpc.StreamServerInterceptor
	if o.Policy != nil {
		az, err := authz.New(o.Policy)
		require.NoError(t, err)
		unary, stream = append(unary, az.UnaryInterceptor), append(stream, az.StreamInterceptor)
	}
	unary = append(unary, principal.UnaryServerInterceptor(s.Verifier, exempt))
	stream = append(stream, principal.StreamServerInterceptor(s.Verifier, exempt))
	s.grpc = grpctest.NewMTLSServer(t, certDir, "auth",
		grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))
	authv1.RegisterAuthServiceServer(s.grpc, s)
	authv1.RegisterKeyServiceServer(s.grpc, s)
	s.Addr = grpctest.Serve(t, s.grpc)
	return s
}

// Stop stops the server abruptly (its address stays unusable).
func (s *Server) Stop() { s.grpc.Stop() }

// LastMetadata returns the incoming metadata of the last WhoAmI call.
func (s *Server) LastMetadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastMD.Copy()
}
