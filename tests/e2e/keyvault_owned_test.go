package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestServiceOwnedSecretsThroughEdge is reproduction 4 of issue 10 against
// the real stack: a member whose key holds secrets:read read the Slack app's
// signing and client secrets, the workspace bot tokens and data-source OAuth
// client secrets over REST. Those are the services' own credentials now:
// no user key — the member's, nor the tenant owner's with every scope — reads,
// overwrites, rotates or deletes them; both may see the metadata, and the
// services themselves keep working with them.
func TestServiceOwnedSecretsThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	var tenant struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-owned-secrets", "owner_subject": "owner@owned.example"}, &tenant))
	owner := tenant.OwnerAPIKey

	const memberSubject = "member@owned.example"
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", owner,
		map[string]any{"subject": memberSubject, "role": "ROLE_MEMBER"}, nil))
	var member createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", owner,
		map[string]any{"name": "member-secrets-read", "scopes": []string{"secrets:read"}, "subject": memberSubject}, &member))

	// Slack credentials under the adapter's prefix, stored the way the
	// adapter stores a workspace's bot token: its own mTLS identity, acting
	// with a chat:write key of the tenant (ADR 0011) that it verifies at
	// auth. (The app's own credentials have since moved out of keyvault,
	// ADR 0013; a secret of that name under the prefix is still the
	// adapter's alone.)
	const (
		appName   = "/dev/slackadapter/app/credentials"
		tokenName = "/dev/slackadapter/bot-token/TOWNED1"
		canary    = "owned-canary-"
	)
	var adapterKey createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", owner,
		map[string]any{"name": "slackadapter", "scopes": []string{"chat:write"}}, &adapterKey))
	slackVault := asSlackAdapter(t, s, adapterKey.APIKey)
	slackVault.create(t, appName, `{"client_id":"1.2","client_secret":"`+canary+`client","signing_secret":"`+canary+`signing"}`)
	slackVault.create(t, tokenName, `{"access_token":"xoxb-`+canary+`bot"}`)

	// A data source's OAuth client secret, written by the real ingestion
	// service when the owner registers the connection.
	var conn struct {
		Connection struct {
			ID string `json:"id"`
		} `json:"connection"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/ingest/connections", owner, map[string]any{
		"name": "owned-wiki", "authorization_endpoint": "https://idp.example/authorize", "token_endpoint": "https://idp.example/token",
		"client_id": "rampart", "client_secret": canary + "oauth", "redirect_uri": "https://rampart.example/cb", "scopes": []string{"read"},
	}, &conn))
	oauthName := "/dev/ingestion/oauth/" + conn.Connection.ID

	for _, who := range []struct{ desc, key string }{{"member with secrets:read", member.APIKey}, {"tenant owner", owner}} {
		for _, name := range []string{appName, tokenName, oauthName} {
			p := s.baseURL + "/v1/secrets" + name
			code, body := call(t, http.MethodGet, p+":value", who.key, nil)
			require.Equal(t, http.StatusForbidden, code, "%s reads %s: %s", who.desc, name, body)
			require.NotContains(t, body, canary)

			// (The edge routes this POST as a write today, so the member's
			// key is refused there already; the owner's reaches keyvault.)
			code, body = call(t, http.MethodPost, s.baseURL+"/v1/secrets:batchGet", who.key, map[string]any{"names": []string{name}})
			require.NotContains(t, body, canary, "%s batch-reads %s", who.desc, name)
			require.Contains(t, []int{http.StatusOK, http.StatusForbidden}, code, body)

			// Metadata only.
			code, body = call(t, http.MethodGet, p, who.key, nil)
			require.Equal(t, http.StatusOK, code, "%s describes %s: %s", who.desc, name, body)
			require.Contains(t, body, name)
			require.NotContains(t, body, canary)
		}
	}
	// Only the owner's key can write at all (members hold no secrets:write);
	// it may not overwrite, rotate, delete or shadow a service's secret.
	for _, name := range []string{appName, tokenName, oauthName} {
		p := s.baseURL + "/v1/secrets" + name
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, p + ":putValue", map[string]any{"secret_string": `{"signing_secret":"attacker"}`}},
			{http.MethodPost, p + ":rotate", map[string]any{}},
			{http.MethodDelete, p + "?force_delete_without_recovery=true", nil},
			{http.MethodPost, s.baseURL + "/v1/secrets", map[string]any{"name": name + "-shadow", "secret_string": "attacker"}},
		} {
			code, body := call(t, req.method, req.path, owner, req.body)
			require.Equal(t, http.StatusForbidden, code, "owner %s %s: %s", req.method, req.path, body)
		}
	}
	// The platform tenant's bootstrap admin key is a user key too.
	code, body := call(t, http.MethodGet, s.baseURL+"/v1/secrets"+appName+":value", admin, nil)
	require.Equal(t, http.StatusForbidden, code, "platform admin reads another service's secret: %s", body)

	// The services still use their own: the adapter reads its app
	// credentials, and ingestion deletes the connection's client secret.
	got := slackVault.get(t, appName)
	require.Contains(t, got, canary+"signing")
	require.Equal(t, http.StatusOK, do(t, http.MethodDelete, s.baseURL+"/v1/ingest/connections/"+conn.Connection.ID, owner, nil, nil))
	code, _ = call(t, http.MethodGet, s.baseURL+"/v1/secrets"+oauthName, owner, nil)
	require.Equal(t, http.StatusNotFound, code, "ingestion removed its secret")

	// A tenant secret stays readable by the owner, not by a member.
	const tenantName = "/dev/app/db/password"
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/secrets", owner,
		map[string]any{"name": tenantName, "secret_string": "tenant-pw"}, nil))
	code, _ = call(t, http.MethodGet, s.baseURL+"/v1/secrets"+tenantName+":value", owner, nil)
	require.Equal(t, http.StatusOK, code)
	code, _ = call(t, http.MethodGet, s.baseURL+"/v1/secrets"+tenantName+":value", member.APIKey, nil)
	require.Equal(t, http.StatusForbidden, code)
}

// call is rawDo with the answer as a string (for error and canary checks).
func call(t *testing.T, method, url, key string, body any) (int, string) {
	t.Helper()
	code, data := rawDo(t, method, url, key, body)
	return code, string(data)
}

// adapterVault is keyvault as the Slack adapter reaches it: its SPIFFE
// identity plus the assertion auth gives it for the tenant's adapter key.
type adapterVault struct {
	c         keyvaultv1.SecretsServiceClient
	assertion string
}

func asSlackAdapter(t *testing.T, s *stack, apiKey string) adapterVault {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(s.env["RAMPART_CA_DIR"], "slackadapter"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	authConn, err := mtls.Dial(ctx, s.env["RAMPART_AUTH_ADDR"], src, pki.ServiceID("auth"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = authConn.Close() })
	v, err := authv1.NewAuthServiceClient(authConn).VerifyKey(ctx, &authv1.VerifyKeyRequest{ApiKey: apiKey, Audiences: []string{"keyvault"}})
	require.NoError(t, err)
	kvConn, err := mtls.Dial(ctx, s.env["RAMPART_KEYVAULT_ADDR"], src, pki.ServiceID("keyvault"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = kvConn.Close() })
	return adapterVault{c: keyvaultv1.NewSecretsServiceClient(kvConn), assertion: v.GetAssertion()}
}

func (a adapterVault) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(principal.AppendToOutgoing(context.Background(), a.assertion), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (a adapterVault) create(t *testing.T, name, value string) {
	t.Helper()
	_, err := a.c.CreateSecret(a.ctx(t), &keyvaultv1.CreateSecretRequest{Name: name, SecretString: value})
	require.NoError(t, err, name)
}

func (a adapterVault) get(t *testing.T, name string) string {
	t.Helper()
	r, err := a.c.GetSecretValue(a.ctx(t), &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err, name)
	return r.GetSecretString()
}
