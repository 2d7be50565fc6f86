package authtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Server is the in-test AuthService.
type Server struct {
	authv1.UnimplementedAuthServiceServer

	// Addr is the gRPC address (127.0.0.1:port).
	Addr string
	// VerifyCalls counts VerifyKey calls.
	VerifyCalls atomic.Int64
	// CacheUntil, when non-zero, is returned as VerifyKeyResponse.cache_until.
	CacheUntil atomic.Int64
	// Verifier checks assertions minted by this server.
	Verifier *principal.Verifier

	signer *principal.Signer
	grpc   *grpc.Server

	mu      sync.Mutex
	keys    map[string]*authv1.Principal // plaintext → principal
	revoked map[string]bool              // key ids
	events  []*authv1.WatchRevocationsResponse
	notify  chan struct{} // closed and replaced on every event
	cancels map[int]context.CancelFunc
	nextID  int
	lastMD  metadata.MD
	streams atomic.Int64 // subscriptions served so far
	refuse  atomic.Bool  // refuse new subscriptions (auth "down" for the stream)
}

// RefuseStreams makes new WatchRevocations calls fail with Unavailable
// (true) or succeed again (false).
func (s *Server) RefuseStreams(refuse bool) { s.refuse.Store(refuse) }

// Start serves a new AuthService over mTLS with the auth certificate in
// certDir (pkitest.NewDir(t, "auth", "edge")).
func Start(t testing.TB, certDir string) *Server {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("test1", priv, principal.MaxTTL)
	require.NoError(t, err)
	s := &Server{
		signer:   signer,
		Verifier: principal.NewVerifier(principal.StaticKeys{"test1": signer.PublicKey()}),
		keys:     map[string]*authv1.Principal{},
		revoked:  map[string]bool{},
		notify:   make(chan struct{}),
		cancels:  map[int]context.CancelFunc{},
	}
	src, err := mtls.NewSource(mtls.FilesFor(certDir, "auth"))
	require.NoError(t, err)
	exempt := principal.ExemptMethods(
		authv1.AuthService_VerifyKey_FullMethodName,
		authv1.AuthService_WatchRevocations_FullMethodName,
	)
	s.grpc = grpc.NewServer(
		grpc.Creds(mtls.ServerCredentials(src)),
		grpc.ChainUnaryInterceptor(principal.UnaryServerInterceptor(s.Verifier, exempt)),
		grpc.ChainStreamInterceptor(principal.StreamServerInterceptor(s.Verifier, exempt)),
	)
	authv1.RegisterAuthServiceServer(s.grpc, s)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Addr = lis.Addr().String()
	go func() { _ = s.grpc.Serve(lis) }()
	t.Cleanup(s.grpc.Stop)
	return s
}

// Stop stops the server abruptly (its address stays unusable).
func (s *Server) Stop() { s.grpc.Stop() }

// AddKey creates a key for p and returns its plaintext. p.KeyId is set.
func (s *Server) AddKey(t testing.TB, p *authv1.Principal) string {
	t.Helper()
	k, err := apikey.Generate()
	require.NoError(t, err)
	p = proto.CloneOf(p)
	p.KeyId = k.ID
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.Plaintext()] = p
	return k.Plaintext()
}

// KeyID returns the id of a plaintext key.
func KeyID(t testing.TB, plaintext string) string {
	t.Helper()
	k, err := apikey.Parse(plaintext)
	require.NoError(t, err)
	return k.ID
}

// Revoke revokes a key and publishes the event.
func (s *Server) Revoke(keyID, tenantID string) {
	s.mu.Lock()
	s.revoked[keyID] = true
	s.mu.Unlock()
	s.Publish(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, KeyId: keyID, TenantId: tenantID})
}

// RevokeSilently revokes a key without publishing an event (an event lost
// while the stream was down).
func (s *Server) RevokeSilently(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[keyID] = true
}

// Publish appends an event (its cursor is assigned) and wakes the streams.
func (s *Server) Publish(ev *authv1.WatchRevocationsResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev = proto.CloneOf(ev)
	ev.Cursor = int64(len(s.events) + 1)
	s.events = append(s.events, ev)
	close(s.notify)
	s.notify = make(chan struct{})
}

// DropStreams ends every open WatchRevocations stream with Unavailable.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.cancels {
		c()
		delete(s.cancels, id)
	}
}

// Subscriptions returns how many WatchRevocations calls were served.
func (s *Server) Subscriptions() int64 { return s.streams.Load() }

// LastMetadata returns the incoming metadata of the last WhoAmI call.
func (s *Server) LastMetadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastMD.Copy()
}

// VerifyKey implements AuthService.
func (s *Server) VerifyKey(_ context.Context, req *authv1.VerifyKeyRequest) (*authv1.VerifyKeyResponse, error) {
	s.VerifyCalls.Add(1)
	s.mu.Lock()
	p, ok := s.keys[req.GetApiKey()]
	revoked := ok && s.revoked[p.GetKeyId()]
	s.mu.Unlock()
	if !ok || revoked {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	assertion, err := s.signer.Sign(p, time.Time{})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	signed, err := s.Verifier.Verify(assertion)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &authv1.VerifyKeyResponse{Principal: signed, Assertion: assertion, CacheUntil: s.CacheUntil.Load()}, nil
}

// WhoAmI implements AuthService from the verified assertion only.
func (s *Server) WhoAmI(ctx context.Context, _ *authv1.WhoAmIRequest) (*authv1.WhoAmIResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.lastMD = md.Copy()
	s.mu.Unlock()
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "missing principal assertion")
	}
	return &authv1.WhoAmIResponse{TenantId: p.GetTenantId(), KeyId: p.GetKeyId(), Subject: p.GetSubject(),
		Roles: p.GetRoles(), Scopes: p.GetScopes()}, nil
}

// Bootstrap implements AuthService; the test double uses it to exercise
// request decoding (a body with fields) and to panic on demand.
func (s *Server) Bootstrap(_ context.Context, req *authv1.BootstrapRequest) (*authv1.BootstrapResponse, error) {
	if req.GetTenantName() == "" {
		return nil, status.Error(codes.InvalidArgument, "tenant_name: required")
	}
	return &authv1.BootstrapResponse{TenantId: "t_" + req.GetTenantName()}, nil
}

// WatchRevocations implements AuthService: events after the cursor (0:
// from now), headers sent as soon as the subscription is registered.
func (s *Server) WatchRevocations(req *authv1.WatchRevocationsRequest, stream grpc.ServerStreamingServer[authv1.WatchRevocationsResponse]) error {
	if s.refuse.Load() {
		return status.Error(codes.Unavailable, "revocation stream unavailable")
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.cancels[id] = cancel
	next := req.GetAfterCursor()
	if next == 0 {
		next = int64(len(s.events))
	}
	s.mu.Unlock()
	s.streams.Add(1)
	defer func() {
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
	}()
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		pending := append([]*authv1.WatchRevocationsResponse(nil), s.events[min(int(next), len(s.events)):]...)
		wait := s.notify
		s.mu.Unlock()
		for _, ev := range pending {
			if err := stream.Send(ev); err != nil {
				return err
			}
			next = ev.GetCursor()
		}
		select {
		case <-ctx.Done():
			return status.Error(codes.Unavailable, "stream dropped")
		case <-wait:
		}
	}
}
