package awsfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/awsfake"
)

// rawCall posts an AWS JSON 1.1 request by hand and returns the status and
// the decoded error shape.
func rawCall(t *testing.T, f *awsfake.Fake, target, contentType, auth, body string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, f.URL()+"/", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestProtocolErrors(t *testing.T) {
	f := awsfake.Start(t)
	const ct, sig = "application/x-amz-json-1.1", "AWS4-HMAC-SHA256 Credential=x"
	tests := []struct {
		desc, target, ct, auth, body, wantType string
		wantStatus                             int
	}{
		{"unsigned", "secretsmanager.GetSecretValue", ct, "", `{}`, "MissingAuthenticationTokenException", 400},
		{"wrong content type", "secretsmanager.GetSecretValue", "application/json", sig, `{}`, "SerializationException", 400},
		{"unknown operation", "secretsmanager.Explode", ct, sig, `{}`, "UnknownOperationException", 400},
		{"malformed JSON", "secretsmanager.GetSecretValue", ct, sig, `{`, "SerializationException", 400},
		{"missing secret", "secretsmanager.GetSecretValue", ct, sig, `{"SecretId":"nope"}`, "ResourceNotFoundException", 400},
		{"missing parameter", "AmazonSSM.GetParameter", ct, sig, `{"Name":"/nope","WithDecryption":true}`, "ParameterNotFound", 400},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			status, body := rawCall(t, f, tc.target, tc.ct, tc.auth, tc.body)
			require.Equal(t, tc.wantStatus, status)
			require.Equal(t, tc.wantType, body["__type"])
			require.NotEmpty(t, body["message"])
		})
	}
}

func TestSecretsManagerThroughSDK(t *testing.T) {
	f := awsfake.Start(t)
	sm := secretsmanager.NewFromConfig(f.AWSConfig())
	ctx := context.Background()

	cr, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("/prod/db/password/main"), SecretString: aws.String("v1"),
		ClientRequestToken: aws.String("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(cr.ARN), "/prod/db/password/main")

	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("/prod/db/password/main"), SecretString: aws.String("v2"),
		ClientRequestToken: aws.String("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")})
	require.NoError(t, err)
	cur, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("/prod/db/password/main")})
	require.NoError(t, err)
	require.Equal(t, "v2", aws.ToString(cur.SecretString))
	require.Contains(t, cur.VersionStages, "AWSCURRENT")
	prev, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("/prod/db/password/main"), VersionStage: aws.String("AWSPREVIOUS")})
	require.NoError(t, err)
	require.Equal(t, "v1", aws.ToString(prev.SecretString))

	// Same token, other value: ResourceExistsException, as AWS answers.
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("/prod/db/password/main"), SecretString: aws.String("other"),
		ClientRequestToken: aws.String("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")})
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "ResourceExistsException", ae.ErrorCode())

	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("/prod/none")})
	var nf *smtypes.ResourceNotFoundException
	require.True(t, errors.As(err, &nf), "typed SDK error from __type: %v", err)

	list, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	require.NoError(t, err)
	require.Len(t, list.SecretList, 1)
	require.Len(t, list.SecretList[0].SecretVersionsToStages, 2, "ListSecrets carries the version map under its own name")
}

func TestThrottlingIsRetried(t *testing.T) {
	f := awsfake.Start(t)
	sm := secretsmanager.NewFromConfig(f.AWSConfig())
	ctx := context.Background()
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("/prod/a/b/c"), SecretString: aws.String("x")})
	require.NoError(t, err)

	f.Throttle("secretsmanager.GetSecretValue", 2)
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("/prod/a/b/c")})
	require.NoError(t, err, "the SDK retries throttling")
	require.Equal(t, "x", aws.ToString(got.SecretString))
	require.Equal(t, 3, f.Calls("secretsmanager.GetSecretValue"))

	f.Throttle("secretsmanager.GetSecretValue", 10)
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("/prod/a/b/c")})
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "ThrottlingException", ae.ErrorCode(), "gives up after the SDK's attempts")
}

func TestSSMParameters(t *testing.T) {
	f := awsfake.Start(t)
	f.PutParameter("/prod/slack/signing-secret", "s3cr3t", "SecureString")
	client := ssm.NewFromConfig(f.AWSConfig())
	got, err := client.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/prod/slack/signing-secret"), WithDecryption: aws.Bool(true)})
	require.NoError(t, err)
	require.Equal(t, "s3cr3t", aws.ToString(got.Parameter.Value))
	require.Equal(t, int64(1), got.Parameter.Version)
}
