package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// TestBackendContract runs one behaviour suite against the sql backend and
// the awssm backend (real aws-sdk-go-v2 clients against the in-repo AWS
// JSON 1.1 fake), over the same real mTLS gRPC server, where the two
// overlap: versions, labels and their movement, idempotent tokens,
// deletion window and restore, tenant isolation, policy and bad input.
func TestBackendContract(t *testing.T) {
	for _, backend := range []string{"sql", "sql-postgres", "awssm"} {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, harnessOpts{backend: strings.TrimSuffix(backend, "-postgres"), postgres: backend == "sql-postgres"})
			c, ctx := h.admin(t, "t1")
			const n = "/dev/billing/db-password/contract"

			cr, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: n, SecretString: "v1", ClientRequestToken: tokA,
				Tags: []*keyvaultv1.Tag{{Key: "team", Value: "billing"}}})
			require.NoError(t, err)
			require.Equal(t, tokA, cr.GetVersionId())
			require.Equal(t, n, cr.GetName())
			_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: n, SecretString: "v1"})
			requireCode(t, err, codes.AlreadyExists)

			// Idempotent put: same token + same value → same version.
			p1, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "v2", ClientRequestToken: tokB})
			require.NoError(t, err)
			require.Equal(t, tokB, p1.GetVersionId())
			require.Equal(t, []string{"AWSCURRENT"}, p1.GetVersionStages())
			p2, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "v2", ClientRequestToken: tokB})
			require.NoError(t, err)
			require.Equal(t, tokB, p2.GetVersionId())
			_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "other", ClientRequestToken: tokB})
			requireCode(t, err, codes.FailedPrecondition)

			// Label movement: v2 current, v1 previous.
			get := func(vid, stage string) *keyvaultv1.GetSecretValueResponse {
				t.Helper()
				r, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: n, VersionId: vid, VersionStage: stage})
				require.NoError(t, err)
				return r
			}
			require.Equal(t, "v2", get("", "").GetSecretString())
			require.Equal(t, "v1", get("", "AWSPREVIOUS").GetSecretString())
			require.Equal(t, []string{"AWSPREVIOUS"}, get(tokA, "").GetVersionStages())

			// A pending version does not move AWSCURRENT.
			_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "v3", ClientRequestToken: tokC, VersionStages: []string{"AWSPENDING"}})
			require.NoError(t, err)
			require.Equal(t, "v2", get("", "").GetSecretString())
			require.Equal(t, "v3", get("", "AWSPENDING").GetSecretString())

			// Moving AWSCURRENT needs the current holder named; then AWSPREVIOUS follows.
			_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: n, VersionStage: "AWSCURRENT", MoveToVersionId: tokC})
			requireCode(t, err, codes.InvalidArgument, "remove_from_version_id")
			_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: n, VersionStage: "AWSCURRENT", MoveToVersionId: tokC, RemoveFromVersionId: tokB})
			require.NoError(t, err)
			require.Equal(t, "v3", get("", "").GetSecretString())
			require.Equal(t, tokB, get("", "AWSPREVIOUS").GetVersionId())

			// Rollback: AWSCURRENT ← AWSPREVIOUS.
			rb, err := c.RollbackSecret(ctx, &keyvaultv1.RollbackSecretRequest{Name: n})
			require.NoError(t, err)
			require.Equal(t, tokB, rb.GetVersionId())
			require.Equal(t, "v2", get("", "").GetSecretString())

			// Unknown versions and labels.
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: n, VersionId: "dddddddd-dddd-4ddd-8ddd-dddddddddddd"})
			requireCode(t, err, codes.NotFound)
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: n, VersionStage: "NOPE"})
			requireCode(t, err, codes.NotFound)

			// Describe.
			d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: n})
			require.NoError(t, err)
			require.Equal(t, n, d.GetSecret().GetName())

			// Tenant isolation: another tenant sees nothing, and can reuse the name.
			c2, ctx2 := h.admin(t, "t2")
			_, err = c2.GetSecretValue(ctx2, &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.NotFound)
			_, err = c2.DescribeSecret(ctx2, &keyvaultv1.DescribeSecretRequest{Name: n})
			requireCode(t, err, codes.NotFound)
			_, err = c2.PutSecretValue(ctx2, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "x"})
			requireCode(t, err, codes.NotFound)
			_, err = c2.CreateSecret(ctx2, &keyvaultv1.CreateSecretRequest{Name: n, SecretString: "t2 value"})
			require.NoError(t, err)
			require.Equal(t, "v2", get("", "").GetSecretString())

			// Policy: a viewer may not read values; slackadapter only its names.
			_, err = c.GetSecretValue(h.ctx(t, "t1", "viewer"), &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.PermissionDenied)
			slack := h.as(t, "slackadapter").secrets
			_, err = slack.GetSecretValue(h.ctx(t, "t1"), &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.PermissionDenied)

			// Bad input: precise errors, nothing changed.
			bad := []struct {
				req   *keyvaultv1.PutSecretValueRequest
				field string
			}{
				{&keyvaultv1.PutSecretValueRequest{Name: "no-slashes", SecretString: "x"}, "name"},
				{&keyvaultv1.PutSecretValueRequest{Name: "/dev/a b/c/d", SecretString: "x"}, "name"},
				{&keyvaultv1.PutSecretValueRequest{Name: n, SecretString: string(make([]byte, 64<<10+1))}, "secret"},
				{&keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "x", ClientRequestToken: "short"}, "client_request_token"},
				{&keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "{", ContentType: keyvaultv1.ContentType_CONTENT_TYPE_JSON}, "json"},
			}
			for _, b := range bad {
				_, err := c.PutSecretValue(ctx, b.req)
				requireCode(t, err, codes.InvalidArgument, b.field)
			}
			require.Equal(t, "v2", get("", "").GetSecretString())

			// Deletion window and restore.
			_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: n, RecoveryWindowInDays: 3})
			requireCode(t, err, codes.InvalidArgument, "recovery_window_in_days")
			del, err := c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: n, RecoveryWindowInDays: 7})
			require.NoError(t, err)
			require.NotNil(t, del.GetDeletionDate())
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.FailedPrecondition)
			_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: n, SecretString: "x"})
			requireCode(t, err, codes.FailedPrecondition)
			_, err = c.RestoreSecret(ctx, &keyvaultv1.RestoreSecretRequest{Name: n})
			require.NoError(t, err)
			require.Equal(t, "v2", get("", "").GetSecretString())

			// Force delete: gone.
			_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: n, ForceDeleteWithoutRecovery: true})
			require.NoError(t, err)
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.NotFound)

			// Audit fail-closed holds for both backends.
			h.sink.fail.Store(true)
			_, err = c2.GetSecretValue(ctx2, &keyvaultv1.GetSecretValueRequest{Name: n})
			requireCode(t, err, codes.Unavailable)
			h.sink.fail.Store(false)
		})
	}
}

// TestAWSSMBackendSpecifics covers what only the awssm backend does:
// {{resolve:...}} values, SDK retries on throttling, and the
// Unimplemented answer for rotation.
func TestAWSSMBackendSpecifics(t *testing.T) {
	h := newHarness(t, harnessOpts{backend: "awssm"})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/chatops/token/bot", SecretString: `{"token":"xoxb-1","signing_secret":"s"}`})
	require.NoError(t, err)
	// The Slack bot pattern: an SSM parameter points at the Secrets Manager secret, and a
	// secret refers to the parameter.
	h.aws.PutParameter("/rampart/t1/dev/chatops/param/bot-token", "{{resolve:secretsmanager:/dev/chatops/token/bot:SecretString:token}}", "SecureString")
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/chatops/ref/bot-token", SecretString: "{{resolve:ssm-secure:/dev/chatops/param/bot-token}}"})
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/chatops/ref/signing", SecretString: "{{resolve:secretsmanager:/dev/chatops/token/bot::signing_secret}}"})
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/chatops/ref/broken", SecretString: "{{resolve:secretsmanager:/dev/chatops/token/bot::missing}}"})
	require.NoError(t, err)

	r, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/chatops/ref/bot-token"})
	require.NoError(t, err)
	require.Equal(t, "xoxb-1", r.GetSecretString())
	r, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/chatops/ref/signing"})
	require.NoError(t, err)
	require.Equal(t, "s", r.GetSecretString())
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/chatops/ref/broken"})
	requireCode(t, err, codes.FailedPrecondition, "json key")

	// References resolve inside the caller's tenant only.
	c2, ctx2 := h.admin(t, "t2")
	_, err = c2.CreateSecret(ctx2, &keyvaultv1.CreateSecretRequest{Name: "/dev/x/ref/steal", SecretString: "{{resolve:secretsmanager:/dev/chatops/token/bot}}"})
	require.NoError(t, err)
	_, err = c2.GetSecretValue(ctx2, &keyvaultv1.GetSecretValueRequest{Name: "/dev/x/ref/steal"})
	requireCode(t, err, codes.NotFound)

	// Throttling is retried by the SDK.
	h.aws.Throttle("secretsmanager.GetSecretValue", 2)
	r, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/chatops/token/bot"})
	require.NoError(t, err)
	require.Contains(t, r.GetSecretString(), "xoxb-1")
	// Persistent throttling surfaces as Unavailable, never as Internal.
	h.aws.Throttle("secretsmanager.GetSecretValue", 10)
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/chatops/token/bot"})
	requireCode(t, err, codes.Unavailable)
	h.aws.Throttle("secretsmanager.GetSecretValue", 0)

	_, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: "/dev/chatops/token/bot"})
	requireCode(t, err, codes.Unimplemented)

	l, err := c.ListSecrets(ctx, &keyvaultv1.ListSecretsRequest{NamePrefix: "/dev/chatops/ref"})
	require.NoError(t, err)
	require.Len(t, l.GetSecrets(), 3)
	l, err = c2.ListSecrets(ctx2, &keyvaultv1.ListSecretsRequest{})
	require.NoError(t, err)
	require.Len(t, l.GetSecrets(), 1, "only the tenant's own secrets")
	_ = context.Background
}

// TestAWSSMKMSKeyIsTheTenants (ADR 0065 §4): kms_key_id went to Secrets
// Manager as given, so a tenant could have its secrets encrypted under any
// KMS key keyvault's role may use — and such a secret outlives the
// tenant's crypto-shred (the deletion of its own key). Only the tenant's
// own key (its alias or alias ARN) or none is accepted; anything else is
// InvalidArgument naming kms_key_id, and nothing reaches AWS.
func TestAWSSMKMSKeyIsTheTenants(t *testing.T) {
	h := newHarness(t, harnessOpts{backend: "awssm"})
	c, ctx := h.admin(t, "t1")
	own := kms.DefaultAliasPrefix + "t1"
	for _, tt := range []struct{ name, key string }{
		{"another tenant's alias", kms.DefaultAliasPrefix + "t2"},
		{"a tenant whose id ends like this one's", kms.DefaultAliasPrefix + "xt1"},
		{"another tenant's alias ARN", "arn:aws:kms:eu-west-1:123456789012:alias/rampart-tenant-t2"},
		{"an alias ARN with another prefix", "arn:aws:kms:eu-west-1:123456789012:alias/other/rampart-tenant-t1"},
		{"a key id", "1234abcd-12ab-34cd-56ef-1234567890ab"},
		{"a key ARN", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{"the AWS managed key", "alias/aws/secretsmanager"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/app/db/refused", SecretString: "v", KmsKeyId: tt.key})
			requireCode(t, err, codes.InvalidArgument, "kms_key_id")
		})
	}
	l, err := c.ListSecrets(ctx, &keyvaultv1.ListSecretsRequest{NamePrefix: "/dev/app/db/"})
	require.NoError(t, err)
	require.Empty(t, l.GetSecrets(), "nothing was created")

	for i, key := range []string{"", own, "arn:aws:kms:eu-west-1:123456789012:" + own, "arn:aws-us-gov:kms:us-gov-west-1:123456789012:" + own} {
		_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: fmt.Sprintf("/dev/app/db/ok-%d", i), SecretString: "v", KmsKeyId: key})
		require.NoError(t, err, "%q", key)
	}
	d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: "/dev/app/db/ok-1"})
	require.NoError(t, err)
	require.Equal(t, own, d.GetSecret().GetKmsKeyId())

	// UpdateSecret: the same rule; the stored key is unchanged after a refusal.
	other := kms.DefaultAliasPrefix + "t2"
	_, err = c.UpdateSecret(ctx, &keyvaultv1.UpdateSecretRequest{Name: "/dev/app/db/ok-1", KmsKeyId: &other})
	requireCode(t, err, codes.InvalidArgument, "kms_key_id")
	d, err = c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: "/dev/app/db/ok-1"})
	require.NoError(t, err)
	require.Equal(t, own, d.GetSecret().GetKmsKeyId())
	arn := "arn:aws:kms:eu-west-1:123456789012:" + own
	_, err = c.UpdateSecret(ctx, &keyvaultv1.UpdateSecretRequest{Name: "/dev/app/db/ok-0", KmsKeyId: &arn})
	require.NoError(t, err)
}
