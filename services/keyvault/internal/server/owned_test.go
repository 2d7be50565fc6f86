package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// TestServiceOwnedSecrets is reproduction 4 of issue 10: a member key with
// secrets:read read the Slack app's signing secret, every workspace bot
// token and data-source OAuth client secrets. A service's own credentials
// are now readable, writable, rotatable and deletable only by that service's
// mTLS identity; user keys (any role, even the admin scope, through the
// edge or the CLI) see their metadata at most. Both backends.
func TestServiceOwnedSecrets(t *testing.T) {
	for _, backend := range []string{"sql", "awssm"} {
		t.Run(backend, func(t *testing.T) {
			h := newHarness(t, harnessOpts{backend: backend})
			owned := []struct{ service, name, value string }{
				{"slackadapter", "/dev/slackadapter/app/credentials", `{"client_id":"1.2","client_secret":"cs-canary","signing_secret":"ss-canary"}`},
				{"slackadapter", "/dev/slackadapter/bot-token/T0123", `{"access_token":"xoxb-canary"}`},
				{"ingestion", "/dev/ingestion/oauth/conn-1", `{"client_secret":"gdrive-canary"}`},
			}
			// Each service stores its credentials with its own identity (and,
			// like the real services, a principal of the tenant).
			for _, o := range owned {
				_, err := h.as(t, o.service).secrets.CreateSecret(h.ctx(t, "t1"), &keyvaultv1.CreateSecretRequest{Name: o.name, SecretString: o.value})
				require.NoError(t, err, o.name)
			}

			users := []struct {
				desc, via string
				ctx       context.Context
				describe  bool
			}{
				{"member with secrets:read", "edge", h.key(t, "t1", []string{"member"}, "secrets:read"), true},
				{"member full-scope", "edge", h.ctx(t, "t1", "member"), true},
				{"admin full-scope", "edge", h.ctx(t, "t1", "admin"), true},
				{"owner with the admin scope", "edge", h.key(t, "t1", []string{"owner"}, "admin"), true},
				{"owner over the CLI", "rampart-cli", h.ctx(t, "t1", "owner"), true},
				{"viewer", "edge", h.ctx(t, "t1", "viewer"), false},
			}
			for _, u := range users {
				c := h.as(t, u.via).secrets
				for _, o := range owned {
					_, err := c.GetSecretValue(u.ctx, &keyvaultv1.GetSecretValueRequest{Name: o.name})
					requireCode(t, err, codes.PermissionDenied)
					b, err := c.BatchGetSecretValue(u.ctx, &keyvaultv1.BatchGetSecretValueRequest{Names: []string{o.name}})
					require.NoError(t, err)
					require.Empty(t, b.GetSecretValues(), "%s: %s", u.desc, o.name)
					require.Len(t, b.GetErrors(), 1)

					mutations := map[string]func() error{
						"put": func() error {
							_, err := c.PutSecretValue(u.ctx, &keyvaultv1.PutSecretValueRequest{Name: o.name, SecretString: "attacker"})
							return err
						},
						"update": func() error {
							_, err := c.UpdateSecret(u.ctx, &keyvaultv1.UpdateSecretRequest{Name: o.name, Description: ptr("attacker")})
							return err
						},
						"delete": func() error {
							_, err := c.DeleteSecret(u.ctx, &keyvaultv1.DeleteSecretRequest{Name: o.name, ForceDeleteWithoutRecovery: true})
							return err
						},
						"restore": func() error {
							_, err := c.RestoreSecret(u.ctx, &keyvaultv1.RestoreSecretRequest{Name: o.name})
							return err
						},
						"rotate": func() error {
							_, err := c.RotateSecret(u.ctx, &keyvaultv1.RotateSecretRequest{Name: o.name})
							return err
						},
						"tag": func() error {
							_, err := c.TagResource(u.ctx, &keyvaultv1.TagResourceRequest{Name: o.name, Tags: []*keyvaultv1.Tag{{Key: "k", Value: "v"}}})
							return err
						},
						"create a look-alike": func() error {
							_, err := c.CreateSecret(u.ctx, &keyvaultv1.CreateSecretRequest{Name: o.name + "-2", SecretString: "attacker"})
							return err
						},
					}
					for what, fn := range mutations {
						err := fn()
						if what == "rotate" && backend == "awssm" {
							requireCode(t, err, codes.Unimplemented) // AWS rotates with Lambda
							continue
						}
						require.Equal(t, codes.PermissionDenied, status.Code(err), "%s may %s %s: %v", u.desc, what, o.name, err)
					}

					d, err := c.DescribeSecret(u.ctx, &keyvaultv1.DescribeSecretRequest{Name: o.name})
					if !u.describe {
						requireCode(t, err, codes.PermissionDenied)
						continue
					}
					require.NoError(t, err, "%s describes %s", u.desc, o.name)
					require.Equal(t, o.name, d.GetSecret().GetName())
					require.NotContains(t, d.String(), "canary", "metadata carries no value")
				}
			}

			// The owners still read (and the adapter still writes) their own;
			// one service never reads another's.
			for _, o := range owned {
				r, err := h.as(t, o.service).secrets.GetSecretValue(h.ctx(t, "t1"), &keyvaultv1.GetSecretValueRequest{Name: o.name})
				require.NoError(t, err)
				require.Equal(t, o.value, r.GetSecretString())
				for _, other := range []string{"slackadapter", "ingestion", "inference"} {
					if other == o.service {
						continue
					}
					_, err := h.as(t, other).secrets.GetSecretValue(h.ctx(t, "t1"), &keyvaultv1.GetSecretValueRequest{Name: o.name})
					requireCode(t, err, codes.PermissionDenied)
				}
			}
			_, err := h.as(t, "slackadapter").secrets.PutSecretValue(h.ctx(t, "t1"), &keyvaultv1.PutSecretValueRequest{Name: owned[1].name, SecretString: `{"access_token":"xoxb-new"}`})
			require.NoError(t, err)

			// A tenant secret stays the admins' to read; members describe it.
			admin, actx := h.admin(t, "t1")
			_, err = admin.CreateSecret(actx, &keyvaultv1.CreateSecretRequest{Name: "/dev/app/db/password", SecretString: "pw"})
			require.NoError(t, err)
			_, err = admin.GetSecretValue(actx, &keyvaultv1.GetSecretValueRequest{Name: "/dev/app/db/password"})
			require.NoError(t, err)
			_, err = admin.GetSecretValue(h.key(t, "t1", []string{"member"}, "secrets:read"), &keyvaultv1.GetSecretValueRequest{Name: "/dev/app/db/password"})
			requireCode(t, err, codes.PermissionDenied)
		})
	}
}

// A secret a service creates for itself outside its prefix (where a
// configured policy lets it write) is recorded as that service's: user keys
// that the rules would let read, overwrite or delete it are refused, and
// may only describe it. Secrets users create there stay theirs.
func TestServiceCreatedSecretIsOwned(t *testing.T) {
	const edge = "spiffe://rampart.local/svc/edge"
	h := newHarness(t, harnessOpts{policy: `{"rules": [
	 {"callers": ["` + edge + `"], "roles": ["owner", "admin"], "names": ["/**"], "actions": ["*"]},
	 {"callers": ["spiffe://rampart.local/svc/ingestion", "spiffe://rampart.local/svc/slackadapter"],
	  "names": ["/{env}/shared-cache/**"], "actions": ["read", "describe", "write", "rotate", "delete"]}]}`})
	const svcName, userName = "/dev/shared-cache/ingestion/token", "/dev/shared-cache/user/token"
	ingestion := h.as(t, "ingestion").secrets
	_, err := ingestion.CreateSecret(h.ctx(t, "t1"), &keyvaultv1.CreateSecretRequest{Name: svcName, SecretString: "svc-canary"})
	require.NoError(t, err)
	admin, actx := h.admin(t, "t1")
	_, err = admin.CreateSecret(actx, &keyvaultv1.CreateSecretRequest{Name: userName, SecretString: "user-value"})
	require.NoError(t, err)

	// The admin's rule covers every name and action, yet only describes.
	_, err = admin.GetSecretValue(actx, &keyvaultv1.GetSecretValueRequest{Name: svcName})
	requireCode(t, err, codes.PermissionDenied, "belongs to spiffe://rampart.local/svc/ingestion")
	_, err = admin.PutSecretValue(actx, &keyvaultv1.PutSecretValueRequest{Name: svcName, SecretString: "attacker"})
	requireCode(t, err, codes.PermissionDenied)
	_, err = admin.DeleteSecret(actx, &keyvaultv1.DeleteSecretRequest{Name: svcName, ForceDeleteWithoutRecovery: true})
	requireCode(t, err, codes.PermissionDenied)
	_, err = admin.RotateSecret(actx, &keyvaultv1.RotateSecretRequest{Name: svcName})
	requireCode(t, err, codes.PermissionDenied)
	_, err = admin.TagResource(actx, &keyvaultv1.TagResourceRequest{Name: svcName, Tags: []*keyvaultv1.Tag{{Key: "k", Value: "v"}}})
	requireCode(t, err, codes.PermissionDenied)
	_, err = admin.CreateSecret(actx, &keyvaultv1.CreateSecretRequest{Name: svcName, SecretString: "svc-canary", ClientRequestToken: tokA})
	requireCode(t, err, codes.PermissionDenied) // no idempotency oracle on its value
	d, err := admin.DescribeSecret(actx, &keyvaultv1.DescribeSecretRequest{Name: svcName})
	require.NoError(t, err)
	require.NotContains(t, d.String(), "svc-canary")

	// Another service the rules admit to the same names is refused too.
	_, err = h.as(t, "slackadapter").secrets.GetSecretValue(h.ctx(t, "t1"), &keyvaultv1.GetSecretValueRequest{Name: svcName})
	requireCode(t, err, codes.PermissionDenied)

	// The owner keeps full use; the user's own secret stays the admin's.
	r, err := ingestion.GetSecretValue(h.ctx(t, "t1"), &keyvaultv1.GetSecretValueRequest{Name: svcName})
	require.NoError(t, err)
	require.Equal(t, "svc-canary", r.GetSecretString())
	_, err = ingestion.PutSecretValue(h.ctx(t, "t1"), &keyvaultv1.PutSecretValueRequest{Name: svcName, SecretString: "svc-2"})
	require.NoError(t, err)
	_, err = admin.GetSecretValue(actx, &keyvaultv1.GetSecretValueRequest{Name: userName})
	require.NoError(t, err)
	_, err = ingestion.DeleteSecret(h.ctx(t, "t1"), &keyvaultv1.DeleteSecretRequest{Name: svcName, ForceDeleteWithoutRecovery: true})
	require.NoError(t, err)
}
