package servertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/app"
	"github.com/rampart-platform/rampart/services/inference/internal/config"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
)

// Options configure the test server.
type Options struct {
	// Models is a model registry JSON document (nil = the built-in local models).
	Models []byte
	// ToolPolicy is a tool policy JSON document (nil = deny all tools).
	ToolPolicy []byte
	// HTTPTransport is used for openai upstreams.
	HTTPTransport http.RoundTripper
	// Logger receives the service's logs (nil: discarded unformatted).
	Logger *slog.Logger
	// Clients are extra service names to issue certificates for (besides
	// "edge"), e.g. "ingestion".
	Clients []string
	// Keyvault, when set, runs a pkg/keyvaulttest keyvault that inference dials over
	// mTLS (Server.Keyvault); it is called with it before inference starts
	// (to store secrets). A "keyvault" certificate is issued for it.
	Keyvault func(*keyvaulttest.Server)
	// SecretsCacheTTL overrides the upstream key cache TTL (default 5 min).
	SecretsCacheTTL time.Duration
	// Ingestion, when set, runs a pkg/ingestiontest ingestion that
	// inference searches over mTLS (Server.Ingestion), admitting only
	// inference; it is called with it before inference starts (to add
	// collections). An "ingestion" certificate is issued.
	Ingestion func(*ingestiontest.Server)
	// IngestionAddr points inference at an ingestion server the test runs
	// itself (its certificate must be in PKIDir: pass "ingestion" in
	// Clients); ignored when Ingestion is set.
	IngestionAddr string
	// Auth, when set, runs a pkg/authtest auth that inference asks for a
	// job's tenant limits over mTLS (Server.Auth, ADR 0106 §2); it is
	// called with it before inference starts (to store tenants' limits).
	// An "auth" certificate is issued.
	Auth func(*authtest.Server)
	// AuthLimitsTTL overrides how long inference uses one of auth's
	// answers (0: the default).
	AuthLimitsTTL time.Duration
}

// Server is a running inference service.
type Server struct {
	// Addr is the gRPC address on loopback.
	Addr string
	// PKIDir holds ca.crt and <name>.crt/.key for inference, edge and Clients.
	PKIDir string
	// Signer mints assertions the server accepts.
	Signer *principal.Signer
	// DataDir holds the service's SQLite files.
	DataDir string
	// Keyvault is the fake keyvault (Options.Keyvault), else nil.
	Keyvault *keyvaulttest.Server
	// Ingestion is the fake ingestion (Options.Ingestion), else nil.
	Ingestion *ingestiontest.Server
	// Auth is the fake auth (Options.Auth), else nil.
	Auth *authtest.Server
	app  *app.App
}

// certNames are the identities the test PKI issues for o.
func certNames(o Options) []string {
	names := append([]string{"inference", "edge"}, o.Clients...)
	if o.Keyvault != nil {
		names = append(names, "keyvault")
	}
	if o.Ingestion != nil {
		names = append(names, "ingestion")
	}
	if o.Auth != nil {
		names = append(names, "auth")
	}
	return names
}

// startAuth runs the fake auth of o.Auth, if any, and points opts at it.
func startAuth(t testing.TB, o Options, dir string, opts *app.Options) *authtest.Server {
	t.Helper()
	if o.Auth == nil {
		return nil
	}
	as := authtest.Start(t, dir)
	o.Auth(as)
	opts.Auth = grpctest.Dial(t, dir, "inference", as.Addr, "auth")
	opts.AuthLimitsTTL = o.AuthLimitsTTL
	return as
}

// Start runs an inference server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir, _ := pkitest.NewDir(t, certNames(o)...)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("test", priv, principal.MaxTTL)
	require.NoError(t, err)
	src, err := mtls.NewSource(mtls.FilesFor(dir, "inference"))
	require.NoError(t, err)

	cfg := &config.Config{Common: pkgconfig.Defaults(config.Service)}
	cfg.ListenAddr, cfg.AdminAddr = "127.0.0.1:0", ""
	cfg.DataDir = t.TempDir()
	cfg.CertDir = dir
	cfg.UsageDSN = filepath.Join(cfg.DataDir, "usage.db")
	cfg.KeyvaultAddr = ""
	cfg.SecretsCacheTTL = 5 * time.Minute
	// The production retention defaults: the sweeper runs in every test
	// server (one pass at start over young data: nothing is due).
	cfg.UsageRawRetention, cfg.UsageHourlyRetention = 7*24*time.Hour, 90*24*time.Hour
	cfg.PromptLogRetention, cfg.RetentionInterval = 30*24*time.Hour, 10*time.Minute
	if o.SecretsCacheTTL > 0 {
		cfg.SecretsCacheTTL = o.SecretsCacheTTL
	}
	var kv *keyvaulttest.Server
	if o.Keyvault != nil {
		kv = keyvaulttest.Start(t, dir, keyvaulttest.Options{Keys: principal.StaticKeys{"test": signer.PublicKey()}, Caller: "inference"})
		o.Keyvault(kv)
		cfg.KeyvaultAddr = kv.Addr
	}

	cfg.IngestionAddr = o.IngestionAddr
	var ing *ingestiontest.Server
	if o.Ingestion != nil {
		ing = ingestiontest.Start(t, dir, ingestiontest.Options{Keys: principal.StaticKeys{"test": signer.PublicKey()}, Callers: []string{"inference"}})
		o.Ingestion(ing)
		cfg.IngestionAddr = ing.Addr
	}

	opts := app.Options{Config: cfg, TLS: src, Keys: principal.StaticKeys{"test": signer.PublicKey()}, HTTPTransport: o.HTTPTransport, DrainDelay: -1, Logger: o.Logger}
	as := startAuth(t, o, dir, &opts)
	if o.Models != nil {
		var f registry.File
		require.NoError(t, json.Unmarshal(o.Models, &f))
		opts.Models = &f
	}
	if o.ToolPolicy != nil {
		var f toolpolicy.File
		require.NoError(t, json.Unmarshal(o.ToolPolicy, &f))
		opts.Tools = &f
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, opts)
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("inference server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("inference server did not stop")
		}
	})
	return &Server{Addr: a.Server.Addr().String(), PKIDir: dir, Signer: signer, DataDir: cfg.DataDir, Keyvault: kv, Ingestion: ing, Auth: as, app: a}
}

// App is the assembled service (its store, for tests that inspect it).
func (s *Server) App() *app.App { return s.app }

// Dial connects as the named client (a service with a certificate in PKIDir).
func (s *Server) Dial(t testing.TB, client string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(s.PKIDir, client))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), s.Addr, src, pki.ServiceID("inference"), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Assertion signs p for calls to the server: an assertion for inference
// (ADR 0083).
func (s *Server) Assertion(t testing.TB, p *authv1.Principal) string {
	t.Helper()
	return s.sign(t, p, "inference")
}

// Outgoing returns ctx carrying, as the edge sends them, p's assertion for
// inference and its delegations for the services inference forwards the
// principal to (ingestion, keyvault), with kv (more key-value pairs)
// beside them.
func (s *Server) Outgoing(ctx context.Context, t testing.TB, p *authv1.Principal, kv ...string) context.Context {
	t.Helper()
	pairs := []string{principal.MetadataKey, s.Assertion(t, p)}
	for _, d := range permissions.Default().Delegates(permissions.Inference) {
		pairs = append(pairs, principal.DelegatedKey, d+"="+s.sign(t, p, d))
	}
	return metadata.AppendToOutgoingContext(ctx, append(pairs, kv...)...)
}

func (s *Server) sign(t testing.TB, p *authv1.Principal, audience string) string {
	t.Helper()
	tok, err := s.Signer.SignFor(p, audience, time.Time{})
	require.NoError(t, err)
	return tok
}
