package appsecrets_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/awsfake"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/appsecrets"
)

const (
	// The Slack bot pattern of the seed: the adapter reads SSM, the
	// parameter points at the secret in Secrets Manager.
	signingRef = "{{resolve:ssm-secure:/rampart/slack/signing-secret}}"
	clientRef  = "{{resolve:secretsmanager:rampart/slack/app:SecretString:client_secret}}"
	clientID   = "1234.5678"

	signingV1 = "signing-CANARY-v1-0a1b"
	signingV2 = "signing-CANARY-v2-2c3d"
	clientV1  = "client-CANARY-v1-4e5f"
)

// clock is a test clock safe for concurrent reads.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// env is the fake AWS behind a switch that takes it down (503s).
type env struct {
	fake *awsfake.Fake
	cfg  aws.Config
	sm   *secretsmanager.Client
	down atomic.Bool
	clk  *clock
	logs *logtest.Buffer
}

func newEnv(t *testing.T) *env {
	e := &env{fake: awsfake.New(), clk: newClock(), logs: &logtest.Buffer{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		e.fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.cfg = e.fake.AWSConfig()
	e.cfg.BaseEndpoint = aws.String(srv.URL)
	e.cfg = appsecrets.WithHTTPClient(e.cfg)
	e.sm = secretsmanager.NewFromConfig(e.cfg)
	ctx := context.Background()
	_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rampart/slack/signing-secret"), SecretString: aws.String(signingV1)})
	require.NoError(t, err)
	_, err = e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("rampart/slack/app"),
		SecretString: aws.String(`{"client_secret":"` + clientV1 + `"}`)})
	require.NoError(t, err)
	e.fake.PutParameter("/rampart/slack/signing-secret", "{{resolve:secretsmanager:rampart/slack/signing-secret}}", "SecureString")
	t.Cleanup(func() {
		for _, v := range []string{signingV1, signingV2, clientV1} {
			require.NotContains(t, e.logs.String(), v, "a secret value was logged")
		}
	})
	return e
}

func (e *env) load(t *testing.T, overlap time.Duration) (*appsecrets.App, error) {
	src, err := appsecrets.NewSource(e.cfg, appsecrets.SourceOptions{Refresh: time.Minute, BreakerTimeout: 50 * time.Millisecond, Now: e.clk.Now})
	require.NoError(t, err)
	return appsecrets.Load(context.Background(), appsecrets.Options{Source: src, ClientID: clientID, ClientSecret: clientRef,
		SigningSecret: signingRef, Overlap: overlap, Now: e.clk.Now, Log: slog.New(slog.NewJSONHandler(e.logs, nil))})
}

func (e *env) rotate(t *testing.T, v string) {
	_, err := e.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("rampart/slack/signing-secret"), SecretString: aws.String(v)})
	require.NoError(t, err)
}

func TestResolvedAtStart(t *testing.T) {
	e := newEnv(t)
	a, err := e.load(t, time.Hour)
	require.NoError(t, err)
	c := a.Credentials()
	require.Equal(t, clientID, c.ClientID)
	require.Equal(t, clientV1, c.ClientSecret, "json key of a secretsmanager reference")
	require.Equal(t, []string{signingV1}, c.Signing, "ssm-secure parameter pointing at a secret")
}

// TestRotationOverlap: a new signing secret is picked up at the next
// refresh without a restart; the previous one verifies until the overlap
// ends, then not.
func TestRotationOverlap(t *testing.T) {
	e := newEnv(t)
	a, err := e.load(t, 30*time.Minute)
	require.NoError(t, err)
	e.rotate(t, signingV2)

	require.NoError(t, a.Refresh(context.Background()))
	require.Equal(t, []string{signingV1}, a.Credentials().Signing, "a fresh cache entry is not read again")

	e.clk.Add(time.Minute)
	require.NoError(t, a.Refresh(context.Background()))
	require.Equal(t, []string{signingV2, signingV1}, a.Credentials().Signing, "new first, the previous during the overlap")

	e.clk.Add(30*time.Minute - time.Second)
	require.Equal(t, []string{signingV2, signingV1}, a.Credentials().Signing)
	e.clk.Add(time.Second)
	require.Equal(t, []string{signingV2}, a.Credentials().Signing, "the overlap ended")
	require.Contains(t, e.logs.String(), "slack signing secret changed in AWS")
}

func TestNoOverlap(t *testing.T) {
	e := newEnv(t)
	a, err := e.load(t, 0)
	require.NoError(t, err)
	e.rotate(t, signingV2)
	e.clk.Add(time.Minute)
	require.NoError(t, a.Refresh(context.Background()))
	require.Equal(t, []string{signingV2}, a.Credentials().Signing)
}

// TestUnreachableAtStartRefuses: the adapter does not start without its
// secrets, and says which setting and reference failed.
func TestUnreachableAtStartRefuses(t *testing.T) {
	e := newEnv(t)
	e.down.Store(true)
	_, err := e.load(t, time.Hour)
	require.Error(t, err)
	require.ErrorContains(t, err, appsecrets.SettingClientSecret)
	require.ErrorContains(t, err, clientRef)

	// Reachable, but the parameter does not exist.
	e.down.Store(false)
	src, err := appsecrets.NewSource(e.cfg, appsecrets.SourceOptions{Refresh: time.Minute, BreakerTimeout: 50 * time.Millisecond, Now: e.clk.Now})
	require.NoError(t, err)
	_, err = appsecrets.Load(context.Background(), appsecrets.Options{Source: src, ClientID: clientID, ClientSecret: clientRef,
		SigningSecret: "{{resolve:ssm-secure:/rampart/slack/nope}}"})
	require.ErrorContains(t, err, appsecrets.SettingSigningSecret+" {{resolve:ssm-secure:/rampart/slack/nope}}")
}

// TestAWSDownLaterKeepsValues: once resolved, an AWS outage serves the
// cached values (stale-if-error) and the adapter keeps verifying.
func TestAWSDownLaterKeepsValues(t *testing.T) {
	e := newEnv(t)
	a, err := e.load(t, time.Hour)
	require.NoError(t, err)
	e.down.Store(true)
	e.clk.Add(2 * time.Minute) // the entries expired: the refresh goes to AWS
	before := e.fake.Calls("AmazonSSM.GetParameter")
	require.NoError(t, a.Refresh(context.Background()), "stale-if-error")
	require.Equal(t, before, e.fake.Calls("AmazonSSM.GetParameter"), "the fake behind the switch saw nothing")
	c := a.Credentials()
	require.Equal(t, []string{signingV1}, c.Signing)
	require.Equal(t, clientV1, c.ClientSecret)

	e.down.Store(false)
	e.rotate(t, signingV2)
	require.Eventually(t, func() bool {
		// The breaker may be open for a while after the outage.
		e.clk.Add(time.Minute)
		_ = a.Refresh(context.Background())
		return a.Credentials().Signing[0] == signingV2
	}, 10*time.Second, 10*time.Millisecond)
}
