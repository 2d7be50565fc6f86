package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/awsfake"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// TestSlackAppFromAWS (ADR 0126): with the app's settings as references,
// the adapter resolves them at start from (fake) Secrets Manager and SSM
// through the SDK's default credential chain; a Slack request signed with
// the stored signing secret is accepted, one signed with another secret
// refused; the OAuth install exchanges with the client secret from AWS;
// the operator's `rampart slack app set` is refused (the app lives in AWS)
// and no value reaches the log.
func TestSlackAppFromAWS(t *testing.T) {
	fake := awsfake.Start(t)
	sm := secretsmanager.NewFromConfig(fake.AWSConfig())
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/slackadapter/signing-secret"), SecretString: aws.String(signingSecret)})
	require.NoError(t, err)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/slackadapter/app"),
		SecretString: aws.String(`{"client_id":"` + clientID + `","client_secret":"` + clientSecret + `"}`)})
	require.NoError(t, err)
	// The seed's pattern: the service reads SSM, SSM points at the secret.
	fake.PutParameter("/prod/slackadapter/signing-secret", "{{resolve:secretsmanager:prod/slackadapter/signing-secret}}", "SecureString")

	// The SDK's default chain, from the environment only.
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	h := start(t, harnessOpts{args: []string{
		"--slack-client-id", "{{resolve:secretsmanager:prod/slackadapter/app:SecretString:client_id}}",
		"--slack-client-secret", "{{resolve:secretsmanager:prod/slackadapter/app:SecretString:client_secret}}",
		"--slack-signing-secret", "{{resolve:ssm-secure:/prod/slackadapter/signing-secret}}",
		"--aws-region", "us-east-1", "--aws-endpoint", fake.URL(),
	}})
	h.forbidInLogs(clientSecret, signingSecret)
	require.Positive(t, fake.Calls("AmazonSSM.GetParameter"), "resolved at start")

	body := []byte(`{"type":"url_verification","challenge":"from-aws"}`)
	st, out := h.send(t, h.signed("/slack/events", "application/json", body))
	require.Equal(t, http.StatusOK, st, out)
	require.Contains(t, out, "from-aws")

	ts := strconv.FormatInt(h.now.Unix(), 10)
	wrong := h.signed("/slack/events", "application/json", body)
	for _, hd := range wrong.Headers {
		if hd.Name == signature.HeaderSignature {
			hd.Value = signature.Sign([]byte("not-the-signing-secret"), ts, body)
		}
	}
	st, _ = h.send(t, wrong)
	require.Equal(t, http.StatusUnauthorized, st, "a request signed with another secret is refused")

	// The install's code exchange authenticates with the client id and
	// secret from AWS (the fake Slack checks both).
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})

	app, err := h.cli.GetApp(ctx, &slackadapterv1.GetAppRequest{})
	require.NoError(t, err)
	require.Equal(t, clientID, app.GetClientId())
	_, err = h.cli.ConfigureApp(ctx, &slackadapterv1.ConfigureAppRequest{ClientId: clientID, ClientSecret: "x", SigningSecret: "y"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "RAMPART_SLACK_SIGNING_SECRET")
}

// TestSigningSecretRotationFromAWS (ADR 0126): a signing secret rotated
// in Secrets Manager is picked up without a restart; requests signed with
// the previous one are accepted until the overlap ends, then refused.
func TestSigningSecretRotationFromAWS(t *testing.T) {
	const rotated = "signing-secret-CANARY-rotated-91c2"
	fake := awsfake.Start(t)
	sm := secretsmanager.NewFromConfig(fake.AWSConfig())
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/slackadapter/signing-secret"), SecretString: aws.String(signingSecret)})
	require.NoError(t, err)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/slackadapter/client-secret"), SecretString: aws.String(clientSecret)})
	require.NoError(t, err)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	h := start(t, harnessOpts{args: []string{
		"--slack-client-id", clientID,
		"--slack-client-secret", "{{resolve:secretsmanager:prod/slackadapter/client-secret}}",
		"--slack-signing-secret", "{{resolve:secretsmanager:prod/slackadapter/signing-secret}}",
		"--slack-secrets-refresh", "1s", "--signing-secret-overlap", "1m",
		"--aws-region", "us-east-1", "--aws-endpoint", fake.URL(),
	}})
	h.forbidInLogs(clientSecret, signingSecret, rotated)

	n := 0
	sendSigned := func(secret string) int {
		n++
		at := h.now.Add(time.Duration(h.later.Load()))
		body := []byte(`{"type":"url_verification","challenge":"c` + strconv.Itoa(n) + `"}`)
		ts := strconv.FormatInt(at.Unix(), 10)
		req := h.signedAt(at, "/slack/events", "application/json", body)
		for _, hd := range req.Headers {
			if hd.Name == signature.HeaderSignature {
				hd.Value = signature.Sign([]byte(secret), ts, body)
			}
		}
		st, _ := h.send(t, req)
		return st
	}
	require.Equal(t, http.StatusOK, sendSigned(signingSecret))
	require.Equal(t, http.StatusUnauthorized, sendSigned(rotated))

	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("prod/slackadapter/signing-secret"), SecretString: aws.String(rotated)})
	require.NoError(t, err)
	h.later.Add(int64(2 * time.Second)) // the cached entry expires on the service's clock
	require.Eventually(t, func() bool { return sendSigned(rotated) == http.StatusOK }, 20*time.Second, 50*time.Millisecond,
		"the rotated secret is picked up at the next refresh")
	require.Equal(t, http.StatusOK, sendSigned(signingSecret), "the previous secret during the overlap")

	h.later.Add(int64(time.Minute + time.Second)) // within slack-go's own ±5 min of the wall clock
	require.Equal(t, http.StatusUnauthorized, sendSigned(signingSecret), "the overlap ended")
	require.Equal(t, http.StatusOK, sendSigned(rotated))
}
