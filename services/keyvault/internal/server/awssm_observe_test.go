package server_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// TestAWSSMObservability: with the awssm backend the observability listing
// comes from AWS Secrets Manager's ListSecrets (a secret created directly
// in AWS shows up; nothing is read from the SQL store), per tenant,
// metadata only, audited fail-closed.
func TestAWSSMObservability(t *testing.T) {
	h := newHarness(t, harnessOpts{backend: "awssm"})
	c, ctx := h.admin(t, "t1")
	const canary = "OBSCANARY-value-9d1e"
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/billing/db-password/primary", SecretString: canary})
	require.NoError(t, err)
	// Created in AWS by other tooling, under the tenant's prefix.
	sm := secretsmanager.NewFromConfig(h.aws.AWSConfig())
	_, err = sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String("rampart/t1/dev/billing/api-key/legacy"), SecretString: aws.String(canary)})
	require.NoError(t, err)
	_, err = sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String("rampart/t2/dev/billing/api-key/other"), SecretString: aws.String(canary)})
	require.NoError(t, err)

	obs := h.as(t, "edge").obs
	resp, err := obs.ListSecretsObservability(ctx, &keyvaultv1.ListSecretsObservabilityRequest{NamePrefix: "/dev/billing"})
	require.NoError(t, err)
	var names []string
	for _, s := range resp.GetSecrets() {
		names = append(names, s.GetName())
		require.Equal(t, keyvaultv1.RotationStatus_ROTATION_STATUS_DISABLED, s.GetRotationStatus())
		require.Nil(t, s.DaysUntilRotation)
		require.Positive(t, s.GetVersionCount())
	}
	require.ElementsMatch(t, []string{"/dev/billing/db-password/primary", "/dev/billing/api-key/legacy"}, names)
	js, err := protojson.Marshal(resp)
	require.NoError(t, err)
	require.NotContains(t, string(js), canary, "metadata only")

	sql, err := h.svc.Observe(context.Background(), vault.Actor{Tenant: "t1", Caller: "spiffe://rampart.local/svc/edge", Roles: []string{"admin"}}, "/dev/billing")
	require.NoError(t, err)
	require.Empty(t, sql, "nothing came from the SQL store")

	r2, err := obs.ListSecretsObservability(h.ctx(t, "t2", "admin"), &keyvaultv1.ListSecretsObservabilityRequest{})
	require.NoError(t, err)
	require.Len(t, r2.GetSecrets(), 1)
	require.Equal(t, "/dev/billing/api-key/other", r2.GetSecrets()[0].GetName())

	h.sink.fail.Store(true)
	_, err = obs.ListSecretsObservability(ctx, &keyvaultv1.ListSecretsObservabilityRequest{})
	requireCode(t, err, codes.Unavailable)
	h.sink.fail.Store(false)
}
