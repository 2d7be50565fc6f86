package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

const name = "/dev/billing/db-password/primary"

func TestIdempotencyMatrix(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")

	cr, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "A", ClientRequestToken: tokA})
	require.NoError(t, err)
	require.Equal(t, tokA, cr.GetVersionId())

	tests := []struct {
		desc    string
		call    func() (string, error)
		want    codes.Code
		version string
	}{
		{"create again, same token and value", func() (string, error) {
			r, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "A", ClientRequestToken: tokA})
			return r.GetVersionId(), err
		}, codes.OK, tokA},
		{"create again, same token, other value", func() (string, error) {
			r, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "X", ClientRequestToken: tokA})
			return r.GetVersionId(), err
		}, codes.FailedPrecondition, ""},
		{"create again, other token", func() (string, error) {
			r, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "A", ClientRequestToken: tokB})
			return r.GetVersionId(), err
		}, codes.AlreadyExists, ""},
		{"put new token", func() (string, error) {
			r, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "B", ClientRequestToken: tokB})
			return r.GetVersionId(), err
		}, codes.OK, tokB},
		{"put same token, same value", func() (string, error) {
			r, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "B", ClientRequestToken: tokB})
			return r.GetVersionId(), err
		}, codes.OK, tokB},
		{"put same token, other value", func() (string, error) {
			r, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "C", ClientRequestToken: tokB})
			return r.GetVersionId(), err
		}, codes.FailedPrecondition, ""},
		{"put first token with its value", func() (string, error) {
			r, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "A", ClientRequestToken: tokA})
			return r.GetVersionId(), err
		}, codes.OK, tokA},
		{"put same token, binary instead of string", func() (string, error) {
			r, err := c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretBinary: []byte("B"), ClientRequestToken: tokB})
			return r.GetVersionId(), err
		}, codes.FailedPrecondition, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			v, err := tc.call()
			if tc.want == codes.OK {
				require.NoError(t, err)
				require.Equal(t, tc.version, v)
			} else {
				requireCode(t, err, tc.want)
			}
		})
	}
	// Nothing changed by the refused calls: B is current, A previous, 2 versions.
	got, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "B", got.GetSecretString())
	require.Equal(t, []string{"AWSCURRENT"}, got.GetVersionStages())
	vs, err := c.ListSecretVersionIds(ctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
	require.NoError(t, err)
	require.Len(t, vs.GetVersions(), 2)
}

func stagesOf(ctx context.Context, t *testing.T, c keyvaultv1.SecretsServiceClient) map[string][]string {
	t.Helper()
	vs, err := c.ListSecretVersionIds(ctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
	require.NoError(t, err)
	out := map[string][]string{}
	for _, v := range vs.GetVersions() {
		out[v.GetVersionId()] = v.GetVersionStages()
	}
	return out
}

func TestLabelMovement(t *testing.T) { onBothStores(t, testLabelMovement) }

func testLabelMovement(t *testing.T, postgres bool) {
	h := newHarness(t, harnessOpts{maxVersions: 3, postgres: postgres})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v1", ClientRequestToken: tokA})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{tokA: {"AWSCURRENT"}}, stagesOf(ctx, t, c))

	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v2", ClientRequestToken: tokB})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{tokA: {"AWSPREVIOUS"}, tokB: {"AWSCURRENT"}}, stagesOf(ctx, t, c))

	// A pending version does not touch AWSCURRENT.
	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v3", ClientRequestToken: tokC, VersionStages: []string{"AWSPENDING"}})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{tokA: {"AWSPREVIOUS"}, tokB: {"AWSCURRENT"}, tokC: {"AWSPENDING"}}, stagesOf(ctx, t, c))

	// Moving AWSCURRENT needs the version it is on now.
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSCURRENT", MoveToVersionId: tokC})
	requireCode(t, err, codes.InvalidArgument, "remove_from_version_id")
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSCURRENT", MoveToVersionId: tokC, RemoveFromVersionId: tokA})
	requireCode(t, err, codes.InvalidArgument, "not attached")
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSCURRENT", MoveToVersionId: "dddddddd-dddd-4ddd-8ddd-dddddddddddd", RemoveFromVersionId: tokB})
	requireCode(t, err, codes.NotFound)
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSCURRENT", RemoveFromVersionId: tokB})
	requireCode(t, err, codes.InvalidArgument, "AWSCURRENT")
	require.Equal(t, map[string][]string{tokA: {"AWSPREVIOUS"}, tokB: {"AWSCURRENT"}, tokC: {"AWSPENDING"}}, stagesOf(ctx, t, c))

	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSCURRENT", MoveToVersionId: tokC, RemoveFromVersionId: tokB})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{tokA: {}, tokB: {"AWSPREVIOUS"}, tokC: {"AWSCURRENT", "AWSPENDING"}}, nilToEmpty(stagesOf(ctx, t, c)))

	// Custom label, then removal.
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "blue", MoveToVersionId: tokA})
	require.NoError(t, err)
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "blue", RemoveFromVersionId: tokA})
	require.NoError(t, err)
	_, err = c.UpdateSecretVersionStage(ctx, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "AWSPENDING", RemoveFromVersionId: tokC})
	require.NoError(t, err)

	// Old unlabelled versions are pruned beyond the limit (3).
	for i, v := range []string{"v4", "v5", "v6"} {
		_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: v})
		require.NoError(t, err, i)
	}
	st := stagesOf(ctx, t, c)
	require.Len(t, st, 3)
	require.NotContains(t, st, tokA)
}

func nilToEmpty(m map[string][]string) map[string][]string {
	for k, v := range m {
		if v == nil {
			m[k] = []string{}
		}
	}
	return m
}

func TestCrossTenantNotFound(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctxA := h.admin(t, "tenant-a")
	ctxB := h.ctx(t, "tenant-b", "admin")
	_, err := c.CreateSecret(ctxA, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "a-secret"})
	require.NoError(t, err)

	calls := map[string]func() error{
		"get": func() error {
			_, err := c.GetSecretValue(ctxB, &keyvaultv1.GetSecretValueRequest{Name: name})
			return err
		},
		"describe": func() error {
			_, err := c.DescribeSecret(ctxB, &keyvaultv1.DescribeSecretRequest{Name: name})
			return err
		},
		"put": func() error {
			_, err := c.PutSecretValue(ctxB, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "x"})
			return err
		},
		"update": func() error {
			d := "x"
			_, err := c.UpdateSecret(ctxB, &keyvaultv1.UpdateSecretRequest{Name: name, Description: &d})
			return err
		},
		"versions": func() error {
			_, err := c.ListSecretVersionIds(ctxB, &keyvaultv1.ListSecretVersionIdsRequest{Name: name})
			return err
		},
		"delete": func() error { _, err := c.DeleteSecret(ctxB, &keyvaultv1.DeleteSecretRequest{Name: name}); return err },
		"restore": func() error {
			_, err := c.RestoreSecret(ctxB, &keyvaultv1.RestoreSecretRequest{Name: name})
			return err
		},
		"tag": func() error {
			_, err := c.TagResource(ctxB, &keyvaultv1.TagResourceRequest{Name: name, Tags: []*keyvaultv1.Tag{{Key: "k"}}})
			return err
		},
		"rotate": func() error {
			_, err := c.RotateSecret(ctxB, &keyvaultv1.RotateSecretRequest{Name: name, RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD}})
			return err
		},
		"rollback": func() error {
			_, err := c.RollbackSecret(ctxB, &keyvaultv1.RollbackSecretRequest{Name: name})
			return err
		},
		"stage": func() error {
			_, err := c.UpdateSecretVersionStage(ctxB, &keyvaultv1.UpdateSecretVersionStageRequest{Name: name, VersionStage: "x", MoveToVersionId: tokA})
			return err
		},
	}
	for n, call := range calls {
		t.Run(n, func(t *testing.T) { requireCode(t, call(), codes.NotFound) })
	}
	list, err := c.ListSecrets(ctxB, &keyvaultv1.ListSecretsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetSecrets())
	got, err := c.GetSecretValue(ctxA, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "a-secret", got.GetSecretString())
}

func TestPolicyDeny(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/billing/api-key/stripe", SecretString: "s"})
	require.NoError(t, err)
	slack := h.as(t, "slackadapter").secrets
	sctx := h.ctx(t, "t1")
	_, err = slack.CreateSecret(sctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/slackadapter/token/bot", SecretString: "s"})
	require.NoError(t, err)
	_, err = slack.GetSecretValue(sctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/slackadapter/token/bot"})
	require.NoError(t, err)
	_, err = slack.GetSecretValue(sctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/api-key/stripe"})
	requireCode(t, err, codes.PermissionDenied)
	_, err = slack.CreateSecret(sctx, &keyvaultv1.CreateSecretRequest{Name: "/prod/slackadapter/token/bot", SecretString: "s"})
	requireCode(t, err, codes.PermissionDenied) // other environment
	_, err = slack.DeleteSecret(sctx, &keyvaultv1.DeleteSecretRequest{Name: "/dev/billing/api-key/stripe"})
	requireCode(t, err, codes.PermissionDenied) // not its own
	_, err = slack.DeleteSecret(sctx, &keyvaultv1.DeleteSecretRequest{Name: "/dev/slackadapter/token/bot", ForceDeleteWithoutRecovery: true})
	require.NoError(t, err) // its own: a bot token Slack revoked is deleted, not kept
	_, err = slack.GetSecretValue(sctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/slackadapter/token/bot"})
	requireCode(t, err, codes.NotFound)

	// A member through the edge may list metadata but not read values; a
	// viewer's keys cannot hold a secrets scope and see nothing.
	mctx := h.ctx(t, "t1", "member")
	_, err = c.GetSecretValue(mctx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/api-key/stripe"})
	requireCode(t, err, codes.PermissionDenied)
	_, err = c.DescribeSecret(mctx, &keyvaultv1.DescribeSecretRequest{Name: "/dev/billing/api-key/stripe"})
	require.NoError(t, err)
	_, err = c.DescribeSecret(h.ctx(t, "t1", "viewer"), &keyvaultv1.DescribeSecretRequest{Name: "/dev/billing/api-key/stripe"})
	requireCode(t, err, codes.PermissionDenied)
	// Role is not a scope: an admin's key without secrets:read reads nothing.
	_, err = c.GetSecretValue(h.key(t, "t1", []string{"admin"}, "chat:write"), &keyvaultv1.GetSecretValueRequest{Name: "/dev/billing/api-key/stripe"})
	requireCode(t, err, codes.PermissionDenied)

	// No principal: Unauthenticated.
	_, err = c.GetSecretValue(context.Background(), &keyvaultv1.GetSecretValueRequest{Name: name})
	requireCode(t, err, codes.Unauthenticated)

	audit, err := os.ReadFile(h.auditLog)
	require.NoError(t, err)
	require.Contains(t, string(audit), `"result":"denied"`)
}

func TestAuditFailClosed(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v1"})
	require.NoError(t, err)

	h.sink.fail.Store(true)
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	requireCode(t, err, codes.Unavailable, "audit")
	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v2"})
	requireCode(t, err, codes.Unavailable, "audit")
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name + "2", SecretString: "x"})
	requireCode(t, err, codes.Unavailable, "audit")
	h.sink.fail.Store(false)

	got, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "v1", got.GetSecretString(), "the refused write must not have happened")
	_, err = c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: name + "2"})
	requireCode(t, err, codes.NotFound)
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: `{"a":1}`, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_JSON})
	require.NoError(t, err)

	tests := []struct {
		desc  string
		err   error
		code  codes.Code
		field string
	}{
		{"empty name", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: ""})), codes.InvalidArgument, "name"},
		{"too few segments", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/x"})), codes.InvalidArgument, "name"},
		{"bad charset", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/a/b/c d"})), codes.InvalidArgument, "name"},
		{"too long", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/a/b/" + strings.Repeat("x", 510)})), codes.InvalidArgument, "name"},
		{"dot segment", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/a/../c"})), codes.InvalidArgument, "name"},
		{"oversized value", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: strings.Repeat("x", 64<<10+1), ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT})), codes.InvalidArgument, "secret_string"},
		{"oversized binary", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretBinary: bytes.Repeat([]byte{1}, 64<<10+1)})), codes.InvalidArgument, "secret_binary"},
		{"empty string value", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "", ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT})), codes.InvalidArgument, "secret_string: must not be empty"},
		{"no value at all", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name})), codes.InvalidArgument, "secret_string: must not be empty"},
		{"empty binary value", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_BINARY})), codes.InvalidArgument, "secret_binary"},
		{"empty value in update", call(c.UpdateSecret(ctx, &keyvaultv1.UpdateSecretRequest{Name: name, SecretString: proto.String("")})), codes.InvalidArgument, "secret_string: must not be empty"},
		{"invalid json", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: `{"a":`})), codes.InvalidArgument, "JSON"},
		{"short token", call(c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: `{}`, ClientRequestToken: "abc"})), codes.InvalidArgument, "client_request_token"},
		{"unknown version", call(c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionId: tokC})), codes.NotFound, "version"},
		{"unknown stage", call(c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: "AWSPENDING"})), codes.NotFound, "AWSPENDING"},
		{"window too short", call(c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, RecoveryWindowInDays: 3})), codes.InvalidArgument, "recovery_window_in_days"},
		{"window and force", call(c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true})), codes.InvalidArgument, "recovery_window_in_days"},
		{"bad schedule", call(c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "rate(0 days)"}})), codes.InvalidArgument, "schedule_expression"},
		{"no rotation function", call(c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name})), codes.InvalidArgument, "rotation_function"},
		{"webhook not allowed", call(c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_WEBHOOK, WebhookUrl: "http://evil.example/"}})), codes.InvalidArgument, "allow-list"},
		{"batch too big", call(c.BatchGetSecretValue(ctx, &keyvaultv1.BatchGetSecretValueRequest{Names: make([]string, 21)})), codes.InvalidArgument, "names"},
		{"rollback without previous", call(c.RollbackSecret(ctx, &keyvaultv1.RollbackSecretRequest{Name: name})), codes.FailedPrecondition, "AWSPREVIOUS"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) { requireCode(t, tc.err, tc.code, tc.field) })
	}
	vs, err := c.ListSecretVersionIds(ctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
	require.NoError(t, err)
	require.Len(t, vs.GetVersions(), 1, "bad input changed nothing")
}

func call[T any](_ T, err error) error { return err }

// TestScheduledForDeletionSaysHowToRestore: keyvault cannot tell a CLI or
// REST caller from a gRPC one, so the FailedPrecondition for a secret
// scheduled for deletion names the CLI verb, the REST route and the RPC.
func TestScheduledForDeletionSaysHowToRestore(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v1"})
	require.NoError(t, err)
	_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, RecoveryWindowInDays: 7})
	require.NoError(t, err)

	hints := []string{
		"rampart secret restore " + name,
		"POST /v1/secrets/" + strings.TrimPrefix(name, "/") + ":restore",
		"RestoreSecret RPC",
	}
	for _, tc := range []struct {
		desc string
		err  error
	}{
		{"create again", call(c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v2"}))},
		{"read", call(c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name}))},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			requireCode(t, tc.err, codes.FailedPrecondition, append([]string{"scheduled for deletion; restore it first"}, hints...)...)
		})
	}
}

func TestDeletionWindowRestorePurge(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v1"})
	require.NoError(t, err)

	del, err := c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, RecoveryWindowInDays: 7})
	require.NoError(t, err)
	require.Equal(t, h.clock.Now().Add(7*24*time.Hour), del.GetDeletionDate().AsTime())
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	requireCode(t, err, codes.FailedPrecondition, "scheduled for deletion")
	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v2"})
	requireCode(t, err, codes.FailedPrecondition)
	// Creating it again says how to get it back.
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v3"})
	requireCode(t, err, codes.FailedPrecondition, "scheduled for deletion; restore it first")
	_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name})
	requireCode(t, err, codes.FailedPrecondition)
	list, err := c.ListSecrets(ctx, &keyvaultv1.ListSecretsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetSecrets())

	_, err = c.RestoreSecret(ctx, &keyvaultv1.RestoreSecretRequest{Name: name})
	require.NoError(t, err)
	got, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "v1", got.GetSecretString())

	_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, RecoveryWindowInDays: 7})
	require.NoError(t, err)
	h.clock.Add(7*24*time.Hour - time.Second)
	n, err := h.svc.PurgeExpired(context.Background())
	require.NoError(t, err)
	require.Zero(t, n, "still inside the window")
	h.clock.Add(2 * time.Second)
	n, err = h.svc.PurgeExpired(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = c.RestoreSecret(ctx, &keyvaultv1.RestoreSecretRequest{Name: name})
	requireCode(t, err, codes.NotFound)
	// The name is free again.
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "new"})
	require.NoError(t, err)

	_, err = c.DeleteSecret(ctx, &keyvaultv1.DeleteSecretRequest{Name: name, ForceDeleteWithoutRecovery: true})
	require.NoError(t, err)
	_, err = c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: name})
	requireCode(t, err, codes.NotFound)
}

func TestAADSwapFails(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	other := "/dev/billing/db-password/replica"
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "mine", ClientRequestToken: tokA})
	require.NoError(t, err)
	_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: other, SecretString: "theirs", ClientRequestToken: tokB})
	require.NoError(t, err)
	// An attacker with database access copies the other secret's ciphertext
	// into this secret's current row.
	_, err = h.st.DB().Exec(`UPDATE secret_versions SET ciphertext = (SELECT ciphertext FROM secret_versions WHERE version_id = ?) WHERE version_id = ?`, tokB, tokA)
	require.NoError(t, err)
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	requireCode(t, err, codes.Internal)
	require.NotContains(t, h.logs.String(), "theirs")
}

func TestCanaryNeverAtRest(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	c, ctx := h.admin(t, "t1")
	canary := "CANARY-7f3a9c2e-do-not-leak"
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: canary})
	require.NoError(t, err)
	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: canary + "-2", ClientRequestToken: tokA})
	require.NoError(t, err)
	_, err = c.PutSecretValue(ctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: canary + "-3", ClientRequestToken: tokA})
	require.Error(t, err) // error path must not echo the value either
	got, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: "AWSPREVIOUS"})
	require.NoError(t, err)
	require.Equal(t, canary, got.GetSecretString())
	_, err = h.st.DB().Exec(`PRAGMA wal_checkpoint(FULL)`)
	require.NoError(t, err)

	entries, err := os.ReadDir(h.dataDir)
	require.NoError(t, err)
	scanned := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(h.dataDir, e.Name()))
		require.NoError(t, err)
		require.NotContains(t, string(data), "CANARY", "plaintext in %s", e.Name())
		scanned++
	}
	require.GreaterOrEqual(t, scanned, 3) // db, audit.log, master.key, audit.key...
	require.NotContains(t, h.logs.String(), "CANARY")
	auditLog, err := os.ReadFile(h.auditLog)
	require.NoError(t, err)
	require.Contains(t, string(auditLog), "hmac-sha256:")
}

func TestRotation(t *testing.T) { onBothStores(t, testRotation) }

func testRotation(t *testing.T, postgres bool) {
	var failTest bool
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failTest && strings.Contains(readAll(r), "testSecret") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	h := newHarness(t, harnessOpts{webhookAllow: []string{hook.URL}, postgres: postgres})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "initial", ClientRequestToken: tokA})
	require.NoError(t, err)

	r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: tokB,
		RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD,
			PasswordPolicy: &keyvaultv1.PasswordPolicy{Length: 40}},
		RotationRules: &keyvaultv1.RotationRules{ScheduleExpression: "rate(30 days)"}})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_SCHEDULED, r.GetRotationStatus())
	cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, tokB, cur.GetVersionId())
	require.Len(t, cur.GetSecretString(), 40)
	d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, h.clock.Now().Add(30*24*time.Hour), d.GetSecret().GetNextRotationAt().AsTime())
	require.Equal(t, h.clock.Now(), d.GetSecret().GetLastRotatedAt().AsTime())

	// The same token again is idempotent.
	r, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: tokB})
	require.NoError(t, err)
	require.Equal(t, tokB, r.GetVersionId())

	// Rollback: AWSCURRENT back to the initial value.
	rb, err := c.RollbackSecret(ctx, &keyvaultv1.RollbackSecretRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, tokA, rb.GetVersionId())
	cur, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "initial", cur.GetSecretString())

	// A failing testSecret leaves AWSCURRENT unchanged and records the failure.
	failTest = true
	r, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: tokC,
		RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_WEBHOOK, WebhookUrl: hook.URL + "/rotate"}})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, r.GetRotationStatus())
	require.Contains(t, r.GetRotationError(), "testSecret")
	cur, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "initial", cur.GetSecretString())
	_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: "AWSPENDING"})
	requireCode(t, err, codes.NotFound)

	obs, err := h.as(t, "edge").obs.ListSecretsObservability(ctx, &keyvaultv1.ListSecretsObservabilityRequest{})
	require.NoError(t, err)
	require.Len(t, obs.GetSecrets(), 1)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, obs.GetSecrets()[0].GetRotationStatus())
	require.NotNil(t, obs.GetSecrets()[0].DaysUntilRotation)

	// Scheduled rotation after the backoff succeeds once the webhook works.
	failTest = false
	h.clock.Add(2 * time.Hour)
	n, err := h.svc.RunDueRotations(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	cur, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.NotEqual(t, "initial", cur.GetSecretString())

	// Cancel disables the schedule; cancelling again has nothing to cancel.
	_, err = c.CancelRotateSecret(ctx, &keyvaultv1.CancelRotateSecretRequest{Name: name})
	require.NoError(t, err)
	_, err = c.CancelRotateSecret(ctx, &keyvaultv1.CancelRotateSecretRequest{Name: name})
	requireCode(t, err, codes.FailedPrecondition)
}

// TestWebhookAllowListBindsScheduledRotations: WEBHOOK_ALLOW was checked
// when a rotation was configured only; after the operator took a hook off
// the list (decommissioned, its name perhaps re-registered by someone
// else), scheduled rotations kept POSTing new secret values to it. Each run
// now checks the function against the current list (security review
// 2026-12-06 evening).
func TestWebhookAllowListBindsScheduledRotations(t *testing.T) {
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	h := newHarness(t, harnessOpts{webhookAllow: []string{hook.URL}})
	c, ctx := h.admin(t, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "initial", ClientRequestToken: tokA})
	require.NoError(t, err)
	r, err := c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: tokB,
		RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_WEBHOOK, WebhookUrl: hook.URL + "/rotate"},
		RotationRules:    &keyvaultv1.RotationRules{ScheduleExpression: "rate(1 day)"}})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_SCHEDULED, r.GetRotationStatus())
	require.EqualValues(t, 2, calls.Load(), "setSecret and testSecret while the hook is allowed")

	// The operator restarts keyvault with the hook off the list.
	narrowed := h.vaultOpts
	narrowed.WebhookAllow = []string{"https://hooks.internal/"}
	restarted := vault.New(narrowed)
	h.clock.Add(25 * time.Hour)
	_, err = restarted.RunDueRotations(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2, calls.Load(), "no new value went to a hook off the list")
	d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_FAILED, d.GetSecret().GetRotationStatus())
	require.Contains(t, d.GetSecret().GetRotationError(), "allow-list")
	cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, tokB, cur.GetVersionId(), "AWSCURRENT stays")
}

func readAll(r *http.Request) string {
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return b.String()
}
