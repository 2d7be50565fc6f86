package awssm_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/awsfake"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/pkg/secrets/awssm"
)

func setup(t *testing.T) (*awsfake.Fake, *awssm.Source, *secretsmanager.Client) {
	t.Helper()
	f := awsfake.Start(t)
	cfg := f.AWSConfig()
	sm := secretsmanager.NewFromConfig(cfg)
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("/prod/slack-adapter/token/bot"),
		SecretString: aws.String(`{"token":"xoxb-111","signing_secret":"abc"}`)})
	require.NoError(t, err)
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("/prod/slack-adapter/token/bot"),
		SecretString: aws.String(`{"token":"xoxb-222","signing_secret":"abc"}`)})
	require.NoError(t, err)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("/prod/x/encryption-key/k"), SecretBinary: []byte{0, 1, 2}})
	require.NoError(t, err)
	f.PutParameter("/prod/slack/bot-token", "{{resolve:secretsmanager:/prod/slack-adapter/token/bot:SecretString:token}}", "String")
	f.PutParameter("/prod/slack/plain", "v1", "SecureString")
	f.PutParameter("/prod/slack/plain", "v2", "SecureString")
	return f, awssm.NewFromConfig(cfg), sm
}

func TestSource(t *testing.T) {
	_, src, _ := setup(t)
	tests := []struct {
		name, stage string
		want        string
		binary      []byte
		err         error
	}{
		{name: "/prod/slack-adapter/token/bot", want: `{"token":"xoxb-222","signing_secret":"abc"}`},
		{name: "/prod/slack-adapter/token/bot", stage: "AWSPREVIOUS", want: `{"token":"xoxb-111","signing_secret":"abc"}`},
		{name: "/prod/x/encryption-key/k", binary: []byte{0, 1, 2}},
		{name: "/prod/none/x/y", err: secrets.ErrNotFound},
		{name: "/prod/slack-adapter/token/bot", stage: "AWSPENDING", err: secrets.ErrNotFound},
		{name: "ssm:/prod/slack/bot-token", want: "xoxb-222"},
		{name: "ssm:/prod/slack/plain", want: "v2"},
		{name: "ssm:/prod/slack/plain:1", want: "v1"},
		{name: "ssm:/prod/slack/plain:9", err: secrets.ErrNotFound},
		{name: "ssm:/prod/missing", err: secrets.ErrNotFound},
		{name: "{{resolve:secretsmanager:/prod/slack-adapter/token/bot:SecretString:token:AWSPREVIOUS}}", want: "xoxb-111"},
		{name: "{{resolve:ssm-secure:/prod/slack/plain:1}}", want: "v1"},
		{name: "{{resolve:ssm:/prod/slack/bot-token}}", want: "xoxb-222"},
		{name: "{{resolve:secretsmanager:/prod/slack-adapter/token/bot:SecretString:nope}}", err: secrets.ErrInvalid},
		{name: "{{resolve:secretsmanager:/prod/x/encryption-key/k}}", err: secrets.ErrInvalid},
		{name: "{{resolve:bogus:x}}", err: secrets.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name+"@"+tt.stage, func(t *testing.T) {
			v, err := src.GetSecretValue(context.Background(), tt.name, tt.stage)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			if tt.binary != nil {
				require.True(t, v.IsBinary())
				require.Equal(t, tt.binary, v.Binary)
				return
			}
			require.Equal(t, tt.want, v.String)
		})
	}
}

func TestSourceRetriesThrottling(t *testing.T) {
	f, src, _ := setup(t)
	f.Throttle("secretsmanager.GetSecretValue", 2)
	before := f.Calls("secretsmanager.GetSecretValue")
	v, err := src.GetSecretValue(context.Background(), "/prod/slack-adapter/token/bot", "")
	require.NoError(t, err, "the SDK retries ThrottlingException")
	require.Contains(t, v.String, "xoxb-222")
	require.Equal(t, before+3, f.Calls("secretsmanager.GetSecretValue"))

	// Beyond the SDK's attempts the error is transient (not permanent), so
	// a Cache in front serves stale and counts it against the breaker.
	f.Throttle("secretsmanager.GetSecretValue", 10)
	_, err = src.GetSecretValue(context.Background(), "/prod/slack-adapter/token/bot", "")
	require.Error(t, err)
	require.False(t, secrets.IsPermanent(err))
	require.Contains(t, err.Error(), "ThrottlingException")
}

func TestCacheOverAWS(t *testing.T) {
	f, src, _ := setup(t)
	c, err := secrets.NewCache(src, secrets.CacheOptions{Attempts: 1})
	require.NoError(t, err)
	for range 5 {
		v, err := c.GetSecretValue(context.Background(), "ssm:/prod/slack/bot-token", "")
		require.NoError(t, err)
		require.Equal(t, "xoxb-222", v.String)
	}
	require.Equal(t, 1, f.Calls("AmazonSSM.GetParameter"))
}
