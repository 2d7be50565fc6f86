package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/app"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// models are the provider models the inference double offers every
// tenant.
var models = []*inferencev1.Model{{Id: "echo", OwnedBy: "rampart"}, {Id: "rampart-extractive", OwnedBy: "rampart"}}

const (
	clientID      = "1234.5678"
	clientSecret  = "client-secret-CANARY-55aa"
	signingSecret = "signing-secret-CANARY-8f74"
)

type harness struct {
	inf *inferencetest.Server
	// ing answers ListCollections (the collections a binding names).
	ing *ingestiontest.Server
	// Fixture is the test PKI and the signer standing in for auth's.
	*grpctest.Fixture
	auth   *authtest.Server
	vault  *keyvaulttest.Server
	slack  *slackfake.Server
	bot    *bot.Adapter
	client slackadapterv1.SlackAdapterServiceClient
	cli    slackadapterv1.SlackAdapterServiceClient // rampart-cli identity
	// raw calls as the edge's identity with whatever delegations the
	// context carries (client narrows them as the edge does).
	raw *grpc.ClientConn
	// received records, per method, the services a handler could call on
	// the principal of its last call (principal.ForwardTo presents an
	// assertion), as an interceptor inside the service's chain sees it.
	received sync.Map // method → []string
	logs     *logtest.Buffer
	// neverLogged is checked against the whole log once the service has
	// stopped: its log writer batches lines, so a mid-test scan sees only
	// part of them.
	neverLogged []string
	now         time.Time
	// later moves the service's clock past now (nanoseconds), for tests of
	// what expires; atomic, as the service reads its clock concurrently.
	later  atomic.Int64
	sleeps chan time.Duration
}

type harnessOpts struct {
	workers   int
	queueSize int
	// script answers inference's chat calls (nil: inferencetest.Echo).
	script inferencetest.Script
	// streamEvery is --stream-update-interval (default 1s).
	streamEvery string
	// model is --model (default echo).
	model string
	// args are added to the command line.
	args []string
}

// start runs the real service (pkg/backend, mTLS, authz, principals) with
// the pkg/ test doubles of inference, ingestion, auth and keyvault speaking their
// protos over mTLS, and the fake Slack Web API.
func start(t testing.TB, o harnessOpts) *harness {
	if o.workers == 0 {
		o.workers = 1
	}
	if o.queueSize == 0 {
		o.queueSize = 64
	}
	if o.streamEvery == "" {
		o.streamEvery = "1s"
	}
	if o.model == "" {
		o.model = "echo"
	}
	h := &harness{logs: &logtest.Buffer{}, now: time.Now(), sleeps: make(chan time.Duration, 16)}
	h.Fixture = grpctest.NewFixture(t, "inference", "edge", "slackadapter", "auth", "keyvault", "ingestion", "rampart-cli")
	h.inf = inferencetest.Start(t, h.Dir, inferencetest.Options{Keys: h.Keys(),
		Callers: []string{"slackadapter"}, Models: models, Script: o.script})
	// Admitted as the permission table says (slackadapter: ListCollections).
	h.ing = ingestiontest.Start(t, h.Dir, ingestiontest.Options{Keys: h.Keys()})
	h.auth = startAuth(t, h.Dir, h.Signer)
	h.vault = startVault(t, h.Dir, h.Signer)
	h.slack = slackfake.Start(t, clientID, clientSecret)
	t.Setenv("RAMPART_AUTH_ADDR", h.auth.Addr)

	// Capture the service's JSON logs (it writes to stderr) for the canary scan.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(h.logs, r); close(copied) }()

	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan string, 1)
	done := make(chan error, 1)
	u, err := url.Parse(h.slack.URL)
	require.NoError(t, err)
	// The KEK outside the data dir, as replicas read it (one Secret).
	kekFile := filepath.Join(t.TempDir(), "shared.kek")
	args := []string{"--listen-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--kek-file", kekFile,
		"--cert-dir", h.Dir, "--auth-addr", h.auth.Addr, "--keyvault-addr", h.vault.Addr, "--inference-addr", h.inf.Addr, "--ingestion-addr", h.ing.Addr,
		"--slack-api-url", h.slack.URL + "/api/", "--response-url-hosts", u.Host, "--public-url", "https://rampart.example.com",
		"--model", o.model, "--stream-update-interval", o.streamEvery, "--workers", strconv.Itoa(o.workers), "--queue-size", strconv.Itoa(o.queueSize), "--log-level", "debug"}
	args = append(args, o.args...)
	var once sync.Once
	go func() {
		done <- app.RunWith(ctx, args, app.Hooks{
			AllowHTTPResponseURL: true,
			Now:                  func() time.Time { return h.now.Add(time.Duration(h.later.Load())) },
			Sleep: func(_ context.Context, d time.Duration) error {
				h.sleeps <- d
				return nil
			},
			ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(h.probe)},
			Started: func(a *bot.Adapter, env *backend.Env) {
				h.bot = a
				once.Do(func() { started <- env.Server.Addr().String() })
			},
		})
	}()
	var addr string
	select {
	case addr = <-started:
	case err := <-done:
		t.Fatalf("slackadapter stopped: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("slackadapter: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("slackadapter did not stop")
		}
		os.Stderr = stderr
		_ = w.Close()
		<-copied
		if len(h.neverLogged) > 0 {
			logs := h.logs.String()
			require.Contains(t, logs, `"msg":"starting"`, "the log was captured")
			for _, canary := range h.neverLogged {
				require.NotContains(t, logs, canary)
			}
		}
		if t.Failed() {
			t.Log(h.logs.String())
		}
	})
	_, err = os.Stat(kekFile)
	require.NoError(t, err, "the KEK is where KEK_FILE says")
	h.client = slackadapterv1.NewSlackAdapterServiceClient(edgeConn{h.Dial(t, "edge", addr, "slackadapter")})
	h.cli = slackadapterv1.NewSlackAdapterServiceClient(h.Dial(t, "rampart-cli", addr, "slackadapter"))
	h.raw = h.Dial(t, "edge", addr, "slackadapter")
	return h
}

// probe records in h.received what the handler of the call will be able
// to forward the principal to.
func (h *harness) probe(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	var auds []string
	for _, aud := range []string{permissions.Auth, permissions.Inference, permissions.Ingestion, permissions.Keyvault} {
		md, _ := metadata.FromOutgoingContext(principal.ForwardTo(ctx, aud))
		if len(md.Get(principal.MetadataKey)) > 0 {
			auds = append(auds, aud)
		}
	}
	h.received.Store(info.FullMethod, auds)
	return handler(ctx, req)
}

// as returns ctx carrying, as the edge sends them, an assertion for the
// adapter of tenant with roles and scopes, and the delegations for the
// services the adapter forwards the principal to (ADR 0083).
func (h *harness) as(t testing.TB, tenant string, roles, scopes []string) context.Context {
	return h.asPrincipal(t, &authv1.Principal{TenantId: tenant, KeyId: "admin-" + tenant, Subject: "alice@" + tenant, Roles: roles, Scopes: scopes})
}

// asPrincipal is the context of an edge call to the adapter for p.
func (h *harness) asPrincipal(t testing.TB, p *authv1.Principal) context.Context {
	by := map[string]string{}
	for _, aud := range append(permissions.Default().Delegates(permissions.SlackAdapter), permissions.SlackAdapter) {
		tok, err := h.Signer.SignFor(p, aud, time.Time{})
		require.NoError(t, err)
		by[aud] = tok
	}
	return principal.Forwardings(by, permissions.Default().Delegates)[permissions.SlackAdapter].Outgoing(context.Background())
}

// edgeConn sends each call, as the edge does, only the delegations its
// RPC forwards to where the table narrows them (CallDelegates, ADR 0105
// §3): the install link carries auth's, a binding ingestion's, a listing
// none.
type edgeConn struct{ grpc.ClientConnInterface }

func (c edgeConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if d, ok := permissions.Default().CallDelegates(method); ok {
		md, _ := metadata.FromOutgoingContext(ctx)
		if a := md.Get(principal.MetadataKey); len(a) == 1 {
			ctx = principal.Forwarding{Assertion: a[0], Delegated: md.Get(principal.DelegatedKey)}.Only(d).Outgoing(ctx)
		}
	}
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func (h *harness) admin(t testing.TB, tenant string) context.Context {
	return h.as(t, tenant, []string{"owner"}, []string{"admin"})
}

// signed is a Slack request signed at the harness clock.
func (h *harness) signed(path, contentType string, body []byte, extra ...string) *slackadapterv1.HandleEventRequest {
	return h.signedAt(h.now, path, contentType, body, extra...)
}

// signedAt is a Slack request signed with timestamp at.
func (h *harness) signedAt(at time.Time, path, contentType string, body []byte, extra ...string) *slackadapterv1.HandleEventRequest {
	ts := strconv.FormatInt(at.Unix(), 10)
	hdrs := []*slackadapterv1.Header{
		{Name: "Content-Type", Value: contentType},
		{Name: signature.HeaderTimestamp, Value: ts},
		{Name: signature.HeaderSignature, Value: signature.Sign([]byte(signingSecret), ts, body)},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		hdrs = append(hdrs, &slackadapterv1.Header{Name: extra[i], Value: extra[i+1]})
	}
	return &slackadapterv1.HandleEventRequest{Method: http.MethodPost, Path: path, Headers: hdrs, Body: body}
}

func (h *harness) send(t testing.TB, req *slackadapterv1.HandleEventRequest) (int, string) {
	resp, err := h.client.HandleEvent(context.Background(), req)
	require.NoError(t, err)
	return int(resp.GetStatusCode()), string(resp.GetBody())
}

// configure sets the Slack app up as the platform operator does: the
// rampart-cli mTLS identity, no principal.
func (h *harness) configure(t testing.TB) {
	_, err := h.cli.ConfigureApp(context.Background(), &slackadapterv1.ConfigureAppRequest{
		ClientId: clientID, ClientSecret: clientSecret, SigningSecret: signingSecret})
	require.NoError(t, err)
}

// install runs the OAuth flow for tenant and team.
func (h *harness) install(t testing.TB, tenant string, g slackfake.Grant) {
	resp, err := h.client.GetInstallUrl(h.admin(t, tenant), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	slackURL, cookie := h.openInstallLink(t, resp.GetUrl())
	code := "code-" + g.TeamID
	h.slack.AddCode(code, g)
	st, body := h.callback(t, code, slackURL.Query().Get("state"), cookie)
	require.Equal(t, http.StatusOK, st, body)
}

// openInstallLink opens an install link as a browser does: the start page
// answers 303 to Slack's authorize page and sets the install cookie. It
// returns Slack's URL and the Cookie header the browser sends back.
func (h *harness) openInstallLink(t testing.TB, link string) (*url.URL, string) {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "/slack/oauth/start", u.Path)
	resp, err := h.client.HandleEvent(context.Background(), &slackadapterv1.HandleEventRequest{Method: http.MethodGet, Path: u.Path, RawQuery: u.RawQuery})
	require.NoError(t, err)
	require.Equal(t, int32(http.StatusSeeOther), resp.GetStatusCode(), string(resp.GetBody()))
	hdr := http.Header{}
	for _, kv := range resp.GetHeaders() {
		hdr.Add(kv.GetName(), kv.GetValue())
	}
	slackURL, err := url.Parse(hdr.Get("Location"))
	require.NoError(t, err)
	cookies := (&http.Response{Header: hdr}).Cookies()
	require.Len(t, cookies, 1)
	return slackURL, cookies[0].Name + "=" + cookies[0].Value
}

// callback delivers Slack's redirect back to the adapter from a browser
// sending cookie ("" for none).
func (h *harness) callback(t testing.TB, code, state, cookie string) (int, string) {
	t.Helper()
	req := &slackadapterv1.HandleEventRequest{Method: http.MethodGet, Path: "/slack/oauth/callback", RawQuery: url.Values{"code": {code}, "state": {state}}.Encode()}
	if cookie != "" {
		req.Headers = []*slackadapterv1.Header{{Name: "Cookie", Value: cookie}}
	}
	return h.send(t, req)
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived")
		var zero T
		return zero
	}
}

// final waits for the chat.update that completes the answer posted as p
// (the placeholder): the first update of p.TS that is not a partial.
func (h *harness) final(t *testing.T, p slackfake.Post) slackfake.Update {
	t.Helper()
	for {
		u := recv(t, h.slack.Updates())
		if u.TS == p.TS && u.Channel == p.Channel && !strings.HasSuffix(u.Text, " …") {
			return u
		}
	}
}

// time1 is n seconds: distinct timestamps make distinct signed requests.
func time1(n int) time.Duration { return time.Duration(n) * time.Second }

// forbidInLogs makes the harness fail the test if any canary appears in the
// service's complete log, scanned after the service stopped (and flushed).
func (h *harness) forbidInLogs(canaries ...string) {
	h.neverLogged = append(h.neverLogged, canaries...)
}
