package server_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/pkg/telemetry"
	"github.com/rampart-platform/rampart/services/ingestion/internal/app"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/server"
)

// harness runs ingestion (real pkg/serve server: authz, access log,
// principal verification) over mTLS against a fake keyvault KmsService over
// mTLS that really wraps keys. The data dir survives restarts.
type harness struct {
	// Fixture is the test PKI and the signer standing in for auth's.
	*grpctest.Fixture
	dataDir   string
	verifier  *principal.Verifier
	kv        *keyvaulttest.Server
	inference *fakeInference
	logs      *logtest.Buffer
	cfg       *config.Config

	addr string
	stop func()
	app  *app.App
	// reg is the instance's metrics registry, served on admin (/metrics)
	reg   *prometheus.Registry
	admin string

	mu   sync.Mutex
	done map[string]chan int
	// parent is the harness whose job waiters a replica reports to.
	parent *harness
}

type opts struct {
	noWorkers    bool
	allowPrivate bool
	// databaseURL selects PostgreSQL (shared by replicas).
	databaseURL string
}

func newHarness(t *testing.T, o opts) *harness {
	t.Helper()
	fx := grpctest.NewFixture(t, "ingestion", "keyvault", "edge", "inference", "slackadapter")
	h := &harness{
		Fixture: fx, dataDir: t.TempDir(), logs: &logtest.Buffer{},
		verifier: principal.NewVerifier(fx.Keys()),
		done:     map[string]chan int{},
	}
	h.cfg = config.Default()
	h.cfg.Workers, h.cfg.EmbedDims, h.cfg.ChunkTokens, h.cfg.ChunkOverlap = 2, 256, 300, 50
	h.cfg.FetchTimeout, h.cfg.KeyCacheSize, h.cfg.VectorCollections, h.cfg.KeyTTL = 10*time.Second, 64, 16, time.Hour
	h.cfg.AllowPrivate = o.allowPrivate
	h.cfg.DatabaseURL = o.databaseURL

	// fake keyvault: SecretsService and a KmsService that really wraps keys
	h.kv = keyvaulttest.Start(t, fx.Dir, keyvaulttest.Options{Keys: fx.Keys()})

	h.cfg.EmbedRetryDelay = 300 * time.Millisecond
	h.inference = startFakeInference(t, fx.Dir, fx.Keys())

	h.start(t, o)
	t.Cleanup(func() { h.shutdown() })
	return h
}

// start runs an ingestion instance on the harness' data dir.
func (h *harness) start(t *testing.T, o opts) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := logging.New(h.logs, slog.LevelDebug)
	src, err := mtls.NewSource(mtls.FilesFor(h.Dir, "ingestion"))
	require.NoError(t, err)
	kv, err := mtls.Dial(ctx, h.kv.Addr, src, pki.ServiceID("keyvault"))
	require.NoError(t, err)
	inf, err := mtls.Dial(ctx, h.inference.addr, src, pki.ServiceID("inference"))
	require.NoError(t, err)
	models := &embed.Remote{Client: inferencev1.NewInferenceServiceClient(inf), Batch: 8, Backoff: time.Millisecond}
	h.reg = telemetry.NewRegistry() // as pkg/backend's, one per instance
	a, err := app.Build(ctx, h.cfg, h.dataDir, secrets.KeyvaultKMS{Client: keyvaultv1.NewKmsServiceClient(kv)},
		app.KeyvaultSecrets{Client: keyvaultv1.NewSecretsServiceClient(kv), Admin: keyvaultv1.NewTenantAdminServiceClient(kv)}, models, log, h.jobDone, h.reg)
	require.NoError(t, err)
	srv, err := serve.New(serve.Options{
		Name: "ingestion", ListenAddr: "127.0.0.1:0", TLS: src, Logger: log, AuthzPolicy: server.DefaultPolicy(),
		ExtraUnary: []grpc.UnaryServerInterceptor{principal.UnaryServerInterceptor(h.verifier, principal.ExemptMethods())},
		// as pkg/backend: WatchJob is a server stream
		ExtraStream: []grpc.StreamServerInterceptor{principal.StreamServerInterceptor(h.verifier, principal.ExemptMethods())},
		DrainDelay:  -1, ServerOptions: app.GRPCOptions(),
		AdminAddr: "127.0.0.1:0", Registry: h.reg,
	})
	require.NoError(t, err)
	ingestionv1.RegisterIngestionServiceServer(srv.GRPC(), server.NewIngestion(a.Service, log))
	h.addr, h.app, h.admin = srv.Addr().String(), a, srv.AdminAddr().String()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	go func() {
		defer wg.Done()
		if !o.noWorkers {
			_ = a.Service.Run(ctx)
		}
	}()
	h.stop = func() {
		cancel()
		wg.Wait()
		_ = a.Close()
		_ = kv.Close()
		_ = inf.Close()
	}
}

func (h *harness) shutdown() {
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// restart stops the instance and starts a new one on the same data dir
// (in-memory key caches are gone).
func (h *harness) restart(t *testing.T, o opts) {
	h.shutdown()
	h.start(t, o)
}

func (h *harness) jobDone(_, job string, state int) {
	if h.parent != nil {
		h.parent.jobDone("", job, state)
		return
	}
	h.ch(job) <- state
}

// replica starts another ingestion instance with its own data dir (its
// own lexical indexes) on the same database, keyvault and inference;
// its finished jobs are reported to h's waiters.
func (h *harness) replica(t *testing.T) *harness {
	t.Helper()
	r := &harness{
		Fixture: h.Fixture, dataDir: t.TempDir(), verifier: h.verifier, kv: h.kv,
		inference: h.inference, logs: h.logs, cfg: h.cfg, parent: h, done: map[string]chan int{},
	}
	r.start(t, opts{})
	t.Cleanup(r.shutdown)
	return r
}

func (h *harness) ch(job string) chan int {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.done[job]
	if !ok {
		c = make(chan int, 4)
		h.done[job] = c
	}
	return c
}

// wait blocks until job finishes and returns its final state.
func (h *harness) wait(t *testing.T, job string) ingestionv1.JobState {
	t.Helper()
	select {
	case s := <-h.ch(job):
		return ingestionv1.JobState(s) //nolint:gosec // small
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatalf("job %s did not finish", job)
		return 0
	}
}

// client dials ingestion as service caller.
func (h *harness) client(t *testing.T, caller string) ingestionv1.IngestionServiceClient {
	t.Helper()
	return ingestionv1.NewIngestionServiceClient(h.Dial(t, caller, h.addr, "ingestion"))
}

// ctx carries a principal assertion for tenant.
func (h *harness) ctx(t *testing.T, tenant string) context.Context {
	t.Helper()
	tok, err := h.Signer.Sign(&authv1.Principal{TenantId: tenant, Subject: "user-" + tenant, KeyId: "key-" + tenant, Scopes: []string{"ingest:read", "ingest:write"}}, time.Time{})
	require.NoError(t, err)
	return principal.AppendToOutgoing(context.Background(), tok)
}

// ingest uploads content and waits for its job.
func (h *harness) ingest(t *testing.T, c ingestionv1.IngestionServiceClient, tenant, coll, source, ctype, content string) *ingestionv1.IngestDocumentResponse {
	t.Helper()
	r, err := c.IngestDocument(h.ctx(t, tenant), &ingestionv1.IngestDocumentRequest{
		Collection: coll, Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte(content)}, Source: source, ContentType: ctype,
	})
	require.NoError(t, err)
	if !r.GetDeduplicated() {
		require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))
	}
	return r
}

func requireCode(t *testing.T, err error, code codes.Code, contains ...string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), "message: %s", st.Message())
	for _, c := range contains {
		require.Contains(t, st.Message(), c)
	}
}
