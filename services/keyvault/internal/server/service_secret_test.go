package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// TestDeleteServiceSecret (ADR 0132 §1): ingestion, with no principal,
// deletes at once a secret it owns of the tenant the request names — the
// data-source grant of a member who left — and nothing else: not another
// service's secret, not a tenant's own, not through any other caller.
func TestDeleteServiceSecret(t *testing.T) {
	h := newHarness(t, harnessOpts{authz: true})
	const grant = "/dev/ingestion/oauth/con_1"
	for _, tenant := range []string{"t1", "t2"} {
		_, err := h.as(t, "ingestion").secrets.CreateSecret(h.ctx(t, tenant, "member"),
			&keyvaultv1.CreateSecretRequest{Name: grant, SecretString: `{"refresh_token":"rt-` + tenant + `"}`})
		require.NoError(t, err)
	}
	_, err := h.as(t, "slackadapter").secrets.CreateSecret(h.ctx(t, "t1", "admin"),
		&keyvaultv1.CreateSecretRequest{Name: "/dev/slackadapter/bot/T1", SecretString: "xoxb-1"})
	require.NoError(t, err)
	sec, ctx := h.admin(t, "t1")
	_, err = sec.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: "/dev/app/db/password", SecretString: "pw"})
	require.NoError(t, err)

	del := func(caller, tenant, name string) (*keyvaultv1.DeleteServiceSecretResponse, error) {
		return h.as(t, caller).admin.DeleteServiceSecret(context.Background(),
			&keyvaultv1.DeleteServiceSecretRequest{TenantId: tenant, Name: name})
	}
	exists := func(caller, tenant, name string) bool {
		_, err := h.as(t, caller).secrets.GetSecretValue(h.ctx(t, tenant, "admin"), &keyvaultv1.GetSecretValueRequest{Name: name})
		return err == nil
	}

	t.Run("allow-list", func(t *testing.T) {
		for _, caller := range []string{"edge", "inference", "slackadapter", "auth", "rampart-cli", "keyvault"} {
			_, err := del(caller, "t1", grant)
			requireCode(t, err, codes.PermissionDenied)
		}
		require.True(t, exists("ingestion", "t1", grant))
	})
	t.Run("only its own prefix", func(t *testing.T) {
		for _, name := range []string{"/dev/slackadapter/bot/T1", "/dev/app/db/password"} {
			_, err := del("ingestion", "t1", name)
			requireCode(t, err, codes.PermissionDenied)
		}
		require.True(t, exists("slackadapter", "t1", "/dev/slackadapter/bot/T1"))
		require.True(t, exists("edge", "t1", "/dev/app/db/password"))
	})
	t.Run("bad input", func(t *testing.T) {
		_, err := del("ingestion", "", grant)
		requireCode(t, err, codes.InvalidArgument, "tenant_id")
		_, err = del("ingestion", "t1", "")
		requireCode(t, err, codes.InvalidArgument)
	})
	t.Run("deletes at once, one tenant's", func(t *testing.T) {
		resp, err := del("ingestion", "t1", grant)
		require.NoError(t, err)
		require.True(t, resp.GetDeleted())
		require.False(t, exists("ingestion", "t1", grant), "gone, no recovery window")
		require.True(t, exists("ingestion", "t2", grant), "the other tenant's untouched")
		again, err := del("ingestion", "t1", grant)
		require.NoError(t, err)
		require.False(t, again.GetDeleted(), "already gone")
	})
}
