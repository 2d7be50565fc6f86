package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/awsfake"
	"github.com/rampart-platform/rampart/services/keyvault/internal/app"
	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/authclient"
	"github.com/rampart-platform/rampart/services/keyvault/internal/awssm"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
	"github.com/rampart-platform/rampart/services/keyvault/internal/server"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// switchSink is the real file sink with a switch that makes it fail.
type switchSink struct {
	next audit.Sink
	fail atomic.Bool
}

func (s *switchSink) Write(ctx context.Context, r audit.Record) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.next.Write(ctx, r)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	dataDir  string
	certDir  string
	ca       *pki.CA
	addr     string
	signer   *principal.Signer
	svc      *vault.Service
	st       *store.Store
	sink     *switchSink
	clock    *fakeClock
	logs     *logtest.Buffer
	auditLog string
	aws      *awsfake.Fake
	auth     *authtest.Server
	reg      *prometheus.Registry // keyvault's metrics
	// vaultOpts are svc's options, for a test that starts a second service
	// over the same store (a restart with another configuration).
	vaultOpts vault.Options
	// draining ends the WatchShreds streams when closed (a shutdown).
	draining chan struct{}
}

type harnessOpts struct {
	webhookAllow []string
	maxVersions  int
	// backend "awssm" serves SecretsService from AWS Secrets Manager (the
	// in-repo fake) instead of SQL.
	backend string
	// authz enforces keyvault's embedded per-method allow-list.
	authz bool
	// auth starts the in-process auth stand-in and gives keyvault a client
	// of it (rampart-api-key rotation).
	auth bool
	// policy replaces the embedded default secrets policy (JSON).
	policy string
	// postgres keeps the store in a real PostgreSQL (pkg/store/pgtest)
	// instead of SQLite.
	postgres bool
}

// onBothStores runs fn with the SQL store on SQLite and on PostgreSQL.
func onBothStores(t *testing.T, fn func(t *testing.T, postgres bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { fn(t, pg) })
	}
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	certDir, ca := pkitest.NewDir(t, "keyvault", "edge", "slackadapter", "ingestion", "inference", "auth", "rampart-cli")
	h := &harness{dataDir: t.TempDir(), certDir: certDir, ca: ca, clock: &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, logs: &logtest.Buffer{}, reg: prometheus.NewRegistry()}
	ctx := context.Background()
	var err error
	if o.postgres {
		h.st, err = store.OpenPostgres(ctx, pgtest.Start(t), pstore.DefaultPoolOptions)
	} else {
		h.st, err = store.Open(ctx, h.dataDir)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.st.Close() })
	local, err := kms.OpenLocal(h.dataDir, h.st)
	require.NoError(t, err)
	h.auditLog = filepath.Join(h.dataDir, "audit.log")
	fs, err := audit.OpenFile(h.auditLog, false)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fs.Close() })
	h.sink = &switchSink{next: fs}
	key, err := audit.LoadOrCreateKey(h.dataDir)
	require.NoError(t, err)
	log := logging.New(h.logs, slog.LevelDebug)
	var keyAuthority rotation.KeyAuthority
	if o.auth {
		h.auth = authtest.StartWith(t, certDir, authtest.Options{Policy: authtest.KeyvaultPolicy})
		keyAuthority = authclient.New(h.dialAuth(t))
	}
	pol := policy.Default("dev")
	if o.policy != "" {
		pol, err = policy.Parse([]byte(o.policy), "dev")
		require.NoError(t, err)
	}
	h.vaultOpts = vault.Options{
		Store: h.st, Envelope: kms.NewEnvelope(local, h.st), Audit: h.sink, Hasher: audit.NewHasher(key),
		Policy: pol, Log: log, Now: h.clock.Now, MaxVersions: o.maxVersions, WebhookAllow: o.webhookAllow,
		KeyAuthority: keyAuthority, Metrics: vault.NewMetrics(h.reg),
	}
	h.svc = vault.New(h.vaultOpts)

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	h.signer, err = principal.NewSigner("test1", priv, time.Minute)
	require.NoError(t, err)
	verifier := principal.NewVerifier(principal.StaticKeys{"test1": h.signer.PublicKey()})

	exempt := principal.ExemptMethods(app.ExemptMethods...)
	unary := []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(verifier, exempt)}
	stream := []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(verifier, exempt)}
	if o.authz {
		az, err := authz.New(app.DefaultAuthz)
		require.NoError(t, err)
		unary = append([]grpc.UnaryServerInterceptor{az.UnaryInterceptor}, unary...)
		stream = append([]grpc.StreamServerInterceptor{az.StreamInterceptor}, stream...)
	}
	gs := grpctest.NewMTLSServer(t, certDir, "keyvault", grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))
	var backend server.SecretsBackend = h.svc
	var observer server.Observer = h.svc
	if o.backend == "awssm" {
		h.aws = awsfake.Start(t)
		// As with KMS=awskms: tenants have their own keys.
		tk := kms.NewAWSKMSFromConfig(h.aws.AWSConfig(), kms.DefaultAliasPrefix)
		b := awssm.New(h.aws.AWSConfig(), h.svc, kms.DefaultAliasPrefix).WithTenantKeys(tk)
		backend, observer = b, b
	}
	keyvaultv1.RegisterSecretsServiceServer(gs, server.NewSecrets(backend, log))
	keyvaultv1.RegisterKmsServiceServer(gs, server.NewKMS(h.svc, log))
	keyvaultv1.RegisterObservabilityServiceServer(gs, server.NewObservability(observer, log))
	keyvaultv1.RegisterTenantAdminServiceServer(gs, server.NewTenantAdmin(h.svc, log))
	keyvaultv1.RegisterKeyWrapServiceServer(gs, server.NewKeyWrap(h.svc, log))
	h.draining = make(chan struct{})
	keyvaultv1.RegisterShredEventsServiceServer(gs, server.NewShredEvents(h.svc, log, h.draining))
	h.addr = grpctest.Serve(t, gs)
	return h
}

type clients struct {
	secrets keyvaultv1.SecretsServiceClient
	kms     keyvaultv1.KmsServiceClient
	obs     keyvaultv1.ObservabilityServiceClient
	admin   keyvaultv1.TenantAdminServiceClient
	conn    *grpc.ClientConn
	shreds  keyvaultv1.ShredEventsServiceClient
}

// dialAuth dials the auth stand-in with keyvault's certificate.
func (h *harness) dialAuth(t testing.TB) *grpc.ClientConn {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(h.certDir, "keyvault"))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), h.auth.Addr, src, pki.ServiceID("auth"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// as dials keyvault with the certificate of service caller.
func (h *harness) as(t testing.TB, caller string) clients {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(h.certDir, caller))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), h.addr, src, pki.ServiceID("keyvault"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return clients{keyvaultv1.NewSecretsServiceClient(conn), keyvaultv1.NewKmsServiceClient(conn), keyvaultv1.NewObservabilityServiceClient(conn),
		keyvaultv1.NewTenantAdminServiceClient(conn), conn, keyvaultv1.NewShredEventsServiceClient(conn)}
}

// ctx returns a context carrying a principal assertion for tenant: a
// full-scope key of the roles (the scope ceiling auth's keys.RoleScopes
// gives each role), or a principal with neither roles nor scopes (a
// service's own assertion in these tests) when no role is given.
func (h *harness) ctx(t testing.TB, tenant string, roles ...string) context.Context {
	t.Helper()
	var scopes []string
	for _, r := range roles {
		scopes = append(scopes, roleScopes[r]...)
	}
	return h.key(t, tenant, roles, scopes...)
}

// roleScopes mirrors auth's keys.RoleScopes (the ceiling of a role's keys).
var roleScopes = map[string][]string{
	"owner":  {"chat:write", "embeddings:write", "ingest:write", "ingest:read", "secrets:read", "secrets:write", "usage:read", "admin"},
	"admin":  {"chat:write", "embeddings:write", "ingest:write", "ingest:read", "secrets:read", "secrets:write", "usage:read", "admin"},
	"member": {"chat:write", "embeddings:write", "ingest:write", "ingest:read", "secrets:read", "usage:read"},
	"viewer": {"ingest:read", "usage:read"},
}

// key returns a context carrying a principal assertion for tenant with
// exactly these roles and scopes.
func (h *harness) key(t testing.TB, tenant string, roles []string, scopes ...string) context.Context {
	t.Helper()
	tok, err := h.signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "user-" + tenant, KeyId: "key-" + tenant, Roles: roles, Scopes: scopes}, time.Time{})
	require.NoError(t, err)
	return principal.AppendToOutgoing(context.Background(), tok)
}

func (h *harness) admin(t testing.TB, tenant string) (keyvaultv1.SecretsServiceClient, context.Context) {
	return h.as(t, "edge").secrets, h.ctx(t, tenant, "admin")
}

func requireCode(t testing.TB, err error, code codes.Code, contains ...string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), "message: %s", st.Message())
	for _, c := range contains {
		require.Contains(t, st.Message(), c)
	}
}

const (
	tokA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	tokB = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	tokC = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
)
