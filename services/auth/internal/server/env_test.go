package server_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/server"
	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// fakeClock is the injectable clock of the key domain.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a real auth server on loopback over real mTLS, with clients
// holding the edge, operator CLI and keyvault identities.
type env struct {
	clock    *fakeClock
	db       *store.DB
	dbPath   string
	dataDir  string
	svc      *keys.Service
	sm       *signing.Manager
	certDir  string
	ca       *pki.CA
	addr     string
	edge     *grpc.ClientConn
	cli      *grpc.ClientConn
	keyvault *grpc.ClientConn

	platformTenant string
	platformKey    string
	plaintexts     []string

	// shutdown starts the server's shutdown (SIGTERM); stopped is closed
	// once it has stopped.
	shutdown func()
	stopped  <-chan struct{}
}

func newEnv(t testing.TB) *env { return newEnvOn(t, "sqlite") }

// forEachStore runs fn against an auth server on SQLite and on PostgreSQL.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, newEnvOn(t, d)) })
	}
}

func newEnvOn(t testing.TB, dialect string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: &fakeClock{t: time.Now().UTC()}, dataDir: t.TempDir()}
	e.certDir, e.ca = pkitest.NewDir(t, "auth", "edge", "rampart-cli", "keyvault", "slackadapter", "inference")
	var err error
	if dialect == "postgres" {
		e.db, err = store.OpenPostgres(ctx, pgtest.Start(t))
	} else {
		e.dbPath = filepath.Join(e.dataDir, "auth.db")
		e.db, err = store.OpenSQLite(ctx, e.dbPath)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.db.Close() })
	kek, err := signing.LoadKEK(filepath.Join(e.dataDir, "signing-kek"))
	require.NoError(t, err)
	e.sm, err = signing.New(ctx, e.db, kek, time.Now, 30*24*time.Hour)
	require.NoError(t, err)
	hub := events.NewHub()
	log := logging.New(testWriter{t}, slog.LevelWarn)
	e.svc, err = keys.New(ctx, e.db, e.sm, hub, keys.Options{Now: e.clock.Now, Log: log})
	require.NoError(t, err)
	bg, cancel := context.WithCancel(ctx)
	go e.svc.DrainFailureAudit(bg)
	go events.NewFeed(e.db, hub, log).Run(bg)

	src, err := mtls.NewSource(mtls.FilesFor(e.certDir, "auth"))
	require.NoError(t, err)
	// The production chain: pkg/serve (request id, recovery, access log,
	// metrics, authz, grpcerr) plus the principal interceptors.
	v := principal.NewVerifier(e.sm, principal.WithAudience("auth"))
	exempt := principal.ExemptMethods(server.ExemptMethodNames...)
	srv, err := serve.New(serve.Options{
		Name: "auth", ListenAddr: "127.0.0.1:0", TLS: src, AuthzPolicy: server.DefaultPolicy, Logger: log,
		ExtraUnary:  []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(v, exempt)},
		ExtraStream: []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(v, exempt)},
		DrainDelay:  -1,
	})
	require.NoError(t, err)
	server.Register(srv.GRPC(), server.New(e.svc, e.sm, e.db, hub, log).EndStreamsOn(srv.Draining()))
	e.addr = srv.Addr().String()
	done := make(chan struct{})
	go func() { _ = srv.Run(bg); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	e.shutdown, e.stopped = cancel, done

	e.edge = e.dial(t, "edge")
	e.cli = e.dial(t, "rampart-cli")
	e.keyvault = e.dial(t, "keyvault")

	resp, err := authv1.NewAuthServiceClient(e.cli).Bootstrap(ctx, &authv1.BootstrapRequest{TenantName: "platform", OwnerSubject: "root@example.com"})
	require.NoError(t, err)
	e.platformTenant, e.platformKey = resp.GetTenantId(), resp.GetApiKey()
	e.plaintexts = append(e.plaintexts, e.platformKey)
	return e
}

func (e *env) dial(t testing.TB, name string) *grpc.ClientConn {
	t.Helper()
	return grpctest.Dial(t, e.certDir, name, e.addr, "auth")
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func (e *env) verify(ctx context.Context, key string) (*authv1.VerifyKeyResponse, error) {
	return authv1.NewAuthServiceClient(e.edge).VerifyKey(ctx, &authv1.VerifyKeyRequest{ApiKey: key, SourceIp: "203.0.113.7", Audiences: []string{"auth"}})
}

// as verifies key like the edge does and returns a context carrying the
// assertion, so calls through e.edge act for that key.
func (e *env) as(t testing.TB, key string) context.Context {
	t.Helper()
	resp, err := e.verify(t.Context(), key)
	require.NoError(t, err)
	return metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, resp.GetAssertion(), "x-request-id", "req-test", "x-forwarded-for", "198.51.100.1")
}

// tenant creates a tenant with an owner and returns its id and owner key.
func (e *env) tenant(t testing.TB, name string) (string, string) {
	t.Helper()
	resp, err := authv1.NewTenantServiceClient(e.edge).CreateTenant(e.as(t, e.platformKey), &authv1.CreateTenantRequest{Name: name, OwnerSubject: "owner@" + name})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, resp.GetOwnerApiKey())
	return resp.GetTenant().GetTenantId(), resp.GetOwnerApiKey()
}

// member adds a member with role to the tenant of adminKey and returns a
// key for it with scopes.
func (e *env) member(t testing.TB, adminKey, subject string, role authv1.Role, scopes ...string) string {
	t.Helper()
	ctx := e.as(t, adminKey)
	_, err := authv1.NewMemberServiceClient(e.edge).CreateMember(ctx, &authv1.CreateMemberRequest{Subject: subject, Role: role})
	require.NoError(t, err)
	resp, err := authv1.NewKeyServiceClient(e.edge).CreateKey(ctx, &authv1.CreateKeyRequest{Name: subject, Subject: subject, Scopes: scopes})
	require.NoError(t, err)
	e.plaintexts = append(e.plaintexts, resp.GetApiKey())
	return resp.GetApiKey()
}

// acme is how most tests start: tenant "acme", its owner key, and the
// member and key clients over the edge's connection.
type acme struct {
	id, owner string
	mc        authv1.MemberServiceClient
	kc        authv1.KeyServiceClient
}

func (e *env) acme(t testing.TB) acme {
	t.Helper()
	id, owner := e.tenant(t, "acme")
	return acme{id: id, owner: owner, mc: authv1.NewMemberServiceClient(e.edge), kc: authv1.NewKeyServiceClient(e.edge)}
}

// watchRevocations opens WatchRevocations as the edge from cursor after
// and returns once the server has sent the stream's header: the watch is
// registered, so no event of a later change is missed.
func (e *env) watchRevocations(ctx context.Context, t testing.TB, after int64) authv1.AuthService_WatchRevocationsClient {
	t.Helper()
	s, err := authv1.NewAuthServiceClient(e.edge).WatchRevocations(ctx, &authv1.WatchRevocationsRequest{AfterCursor: after})
	require.NoError(t, err)
	_, err = s.Header()
	require.NoError(t, err)
	return s
}

// watchTenantEvents is watchRevocations for WatchTenantEvents, as
// keyvault (one of the services allowed to watch them).
func (e *env) watchTenantEvents(ctx context.Context, t testing.TB) authv1.AuthService_WatchTenantEventsClient {
	t.Helper()
	s, err := authv1.NewAuthServiceClient(e.keyvault).WatchTenantEvents(ctx, &authv1.WatchTenantEventsRequest{})
	require.NoError(t, err)
	_, err = s.Header()
	require.NoError(t, err)
	return s
}

// keyLiveness is one key of a liveness table: whether it must still verify.
type keyLiveness struct {
	name string
	key  string
	live bool
}

// requireLiveness checks, as one subtest per key, that each live key
// verifies and every other is refused as unauthenticated; why says what a
// refusal proves.
func (e *env) requireLiveness(t *testing.T, prefix string, keys []keyLiveness, why string) {
	t.Helper()
	for _, k := range keys {
		t.Run(prefix+k.name, func(t *testing.T) {
			_, err := e.verify(t.Context(), k.key)
			if k.live {
				require.NoError(t, err)
				return
			}
			require.Equal(t, codes.Unauthenticated, code(err), "%s: %v", why, err)
		})
	}
}

// setRole has acme's owner change subject's role: the step every
// demotion and promotion test takes.
func (e *env) setRole(t *testing.T, a acme, subject string, role authv1.Role) {
	t.Helper()
	_, err := a.mc.UpdateMember(e.as(t, a.owner), &authv1.UpdateMemberRequest{MemberId: memberID(t, e, a.owner, subject), Role: role})
	require.NoError(t, err)
}

// mintingAdmin is the scenario of ADR 0069 §1 and ADR 0078 §1, built once
// for every test of it: alice@acme, an admin the owner added with an
// `admin` key, creates the admin service account ci@acme and mints an
// `admin` key for it, so she holds its plaintext. The tests then make more
// keys around it and demote (demote) or remove (remove) her.
type mintingAdmin struct {
	acme
	alice string // alice's own admin key
	ci    string // the admin key alice minted for ci@acme
}

func (e *env) mintingAdmin(t *testing.T) mintingAdmin {
	t.Helper()
	a := e.acme(t)
	alice := e.member(t, a.owner, "alice@acme", authv1.Role_ROLE_ADMIN, "admin")
	_, err := a.mc.CreateMember(e.as(t, alice), &authv1.CreateMemberRequest{Subject: "ci@acme", Kind: authv1.MemberKind_MEMBER_KIND_SERVICE_ACCOUNT, Role: authv1.Role_ROLE_ADMIN})
	require.NoError(t, err)
	ci := e.ownKey(t, alice, &authv1.CreateKeyRequest{Name: "ci", Subject: "ci@acme", Scopes: []string{"admin"}})
	return mintingAdmin{acme: a, alice: alice, ci: ci}
}

// demote has the owner make alice a member.
func (m mintingAdmin) demote(t *testing.T, e *env) {
	t.Helper()
	e.setRole(t, m.acme, "alice@acme", authv1.Role_ROLE_MEMBER)
}

// remove has the owner remove alice from the tenant.
func (m mintingAdmin) remove(t *testing.T, e *env) {
	t.Helper()
	_, err := m.mc.DeleteMember(e.as(t, m.owner), &authv1.DeleteMemberRequest{MemberId: memberID(t, e, m.owner, "alice@acme")})
	require.NoError(t, err)
}
