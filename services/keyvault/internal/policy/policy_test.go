package policy_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
)

const (
	edge  = "spiffe://rampart.local/svc/edge"
	slack = "spiffe://rampart.local/svc/slackadapter"
	infer = "spiffe://rampart.local/svc/inference"
	ingst = "spiffe://rampart.local/svc/ingestion"
	other = "spiffe://rampart.local/client/billing"
)

func TestMatchName(t *testing.T) {
	tests := []struct {
		pattern, name, env string
		want               bool
	}{
		{"*", "/prod/a/b/c", "prod", true},
		{"/**", "/prod/a/b/c", "prod", true},
		{"*", "", "prod", true},
		{"/prod/*", "", "prod", false},
		{"/prod/slack/token/bot", "/prod/slack/token/bot", "prod", true},
		{"/prod/slack/token/bot", "/prod/slack/token/bots", "prod", false},
		{"/prod/slack/*", "/prod/slack/token/bot", "prod", true},
		{"/prod/slack/*", "/prod/slack", "prod", false},
		{"/prod/slack/**", "/prod/slack/a/b/c/d", "prod", true},
		{"/prod/*/token/bot", "/prod/slack/token/bot", "prod", true},
		{"/prod/*/token/bot", "/prod/slack/extra/token/bot", "prod", false},
		{"/prod/slack-*/token/*", "/prod/slack-adapter/token/bot", "prod", true},
		{"/prod/slack-?/x/y", "/prod/slack-a/x/y", "prod", true},
		{"/{env}/slack/*", "/prod/slack/token/bot", "prod", true},
		{"/{env}/slack/*", "/dev/slack/token/bot", "prod", false},
		{"/{env}/slack/*", "/dev/slack/token/bot", "", true},
		{"/{env}/slack/*", "/prod/inference/token/bot", "prod", false},
		{"/prod/slack/token", "/prod/slack/token/bot", "prod", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, policy.MatchName(tc.pattern, tc.name, tc.env))
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := policy.Default("prod")
	admin := func(scopes ...string) policy.Request {
		return policy.Request{Caller: edge, Roles: []string{"admin"}, Scopes: scopes}
	}
	member := func(scopes ...string) policy.Request {
		return policy.Request{Caller: edge, Roles: []string{"member"}, Scopes: scopes}
	}
	on := func(r policy.Request, name, action string) policy.Request {
		r.Name, r.Action = name, action
		return r
	}
	tests := []struct {
		desc string
		req  policy.Request
		want bool
	}{
		{"admin with secrets:read reads a tenant secret", on(admin("secrets:read"), "/prod/app/db/password", policy.ActionRead), true},
		{"admin scope holds secrets:read", on(admin("admin"), "/prod/app/db/password", policy.ActionRead), true},
		{"role alone is not a scope", on(admin("chat:write"), "/prod/app/db/password", policy.ActionRead), false},
		{"admin with secrets:read may not write", on(admin("secrets:read"), "/prod/app/db/password", policy.ActionWrite), false},
		{"admin with secrets:write writes, rotates, deletes", on(admin("secrets:write"), "/prod/app/db/password", policy.ActionRotate), true},
		{"member with secrets:read describes", on(member("secrets:read"), "/prod/app/db/password", policy.ActionDescribe), true},
		{"member with secrets:read may not read a tenant secret", on(member("secrets:read"), "/prod/app/db/password", policy.ActionRead), false},
		{"member with secrets:read reads shared ones", on(member("secrets:read"), "/prod/shared/db/readonly", policy.ActionRead), true},
		{"member may not read another env's shared ones", on(member("secrets:read"), "/dev/shared/db/readonly", policy.ActionRead), false},
		{"member without a secrets scope describes nothing", on(member("chat:write"), "/prod/app/db/password", policy.ActionDescribe), false},
		{"viewer describes nothing", on(policy.Request{Caller: edge, Roles: []string{"viewer"}, Scopes: []string{"secrets:read"}}, "/prod/app/x", policy.ActionDescribe), false},
		{"member may not write", on(member("secrets:read", "secrets:write"), "/prod/shared/x/y", policy.ActionWrite), false},
		{"owner rotates KEKs with the admin scope", on(policy.Request{Caller: edge, Roles: []string{"owner"}, Scopes: []string{"admin"}}, "*", policy.ActionAdmin), true},
		{"admin may not rotate KEKs with secrets:write only", on(admin("secrets:write"), "*", policy.ActionAdmin), false},
		{"slack reads its own", policy.Request{Caller: slack, Name: "/prod/slackadapter/app/credentials", Action: policy.ActionRead}, true},
		{"slack reads its own (legacy name)", policy.Request{Caller: slack, Name: "/prod/slack-adapter/token/bot", Action: policy.ActionRead}, true},
		{"slack writes its own", policy.Request{Caller: slack, Name: "/prod/slackadapter/bot-token/T1", Action: policy.ActionWrite}, true},
		{"slack may not read inference's", policy.Request{Caller: slack, Name: "/prod/inference/key/openai", Action: policy.ActionRead}, false},
		{"slack may not read another env", policy.Request{Caller: slack, Name: "/dev/slack-adapter/token/bot", Action: policy.ActionRead}, false},
		{"slack deletes its own (a bot token Slack revoked)", policy.Request{Caller: slack, Name: "/prod/slack-adapter/token/bot", Action: policy.ActionDelete}, true},
		{"slack may not delete inference's", policy.Request{Caller: slack, Name: "/prod/inference/key/openai", Action: policy.ActionDelete}, false},
		{"slack may not delete tenant secrets", policy.Request{Caller: slack, Name: "/prod/app/db/password", Action: policy.ActionDelete}, false},
		{"slack may not read tenant secrets", policy.Request{Caller: slack, Name: "/prod/app/db/password", Action: policy.ActionRead}, false},
		{"inference reads its own", policy.Request{Caller: infer, Name: "/prod/inference/key/openai", Action: policy.ActionRead}, true},
		{"inference may not write", policy.Request{Caller: infer, Name: "/prod/inference/key/openai", Action: policy.ActionWrite}, false},
		// A service holding a forwarded owner's assertion (inference gets every
		// chat caller's) still reaches only its own names: the tenant-secret
		// rules admit the edge and the CLI alone (ADR 0078, audience).
		{"inference with an owner's principal may not read a tenant secret", policy.Request{Caller: infer, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "/prod/app/db/password", Action: policy.ActionRead}, false},
		{"inference with an owner's principal may not read shared ones", policy.Request{Caller: infer, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "/prod/shared/db/readonly", Action: policy.ActionRead}, false},
		{"ingestion with an owner's principal may not read a tenant secret", policy.Request{Caller: ingst, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "/prod/app/db/password", Action: policy.ActionRead}, false},
		{"slack with an owner's principal may not describe a tenant secret", policy.Request{Caller: slack, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "/prod/app/db/password", Action: policy.ActionDescribe}, false},
		{"inference with an owner's principal may not rotate KEKs", policy.Request{Caller: infer, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "*", Action: policy.ActionAdmin}, false},
		{"ingestion reads its own", policy.Request{Caller: ingst, Name: "/prod/ingestion/oauth/c1", Action: policy.ActionRead}, true},
		{"ingestion uses KMS", policy.Request{Caller: ingst, Action: policy.ActionKMS}, true},
		{"edge callers may not use KMS without a rule", on(policy.Request{Caller: edge, Roles: []string{"admin"}, Scopes: []string{"admin"}}, "", policy.ActionKMS), false},
		{"unknown caller denied", policy.Request{Caller: other, Roles: []string{"owner"}, Scopes: []string{"admin"}, Name: "/prod/x/y/z", Action: policy.ActionRead}, false},
		{"empty request denied", policy.Request{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			require.Equal(t, tc.want, p.Allowed(tc.req))
		})
	}
}

// Reproduction 4 of issue 10: user keys (any role, any scope, through the
// edge or the CLI) never read, write, rotate or delete a service's own
// credentials; they may at most describe them. This holds for the default
// policy and for any configured policy, even one granting everything.
func TestServiceOwnedSecrets(t *testing.T) {
	cli := "spiffe://rampart.local/svc/rampart-cli"
	def := policy.Default("prod")
	permissive, err := policy.Parse([]byte(`{"rules":[{"callers":["*"],"names":["*"],"actions":["*"]}]}`), "prod")
	require.NoError(t, err)
	owned := []struct{ name, owner string }{
		{"/prod/slackadapter/app/credentials", slack},    // the Slack app's signing and client secrets
		{"/prod/slackadapter/bot-token/T0123", slack},    // a workspace's bot token
		{"/prod/slack-adapter/token/bot", slack},         // legacy spelling
		{"/prod/ingestion/oauth/conn-1", ingst},          // a data source's OAuth client secret
		{"/prod/inference/api-key/openai", infer},        // an upstream provider key
		{"/staging/slackadapter/app/credentials", slack}, // another env's segment is still the adapter's
	}
	users := map[string]policy.Request{
		"member secrets:read":        {Caller: edge, Roles: []string{"member"}, Scopes: []string{"secrets:read"}},
		"admin secrets:read+write":   {Caller: edge, Roles: []string{"admin"}, Scopes: []string{"secrets:read", "secrets:write"}},
		"owner admin scope":          {Caller: edge, Roles: []string{"owner"}, Scopes: []string{"admin"}},
		"owner admin scope over CLI": {Caller: cli, Roles: []string{"owner"}, Scopes: []string{"admin"}},
	}
	for _, o := range owned {
		for who, u := range users {
			for _, action := range []string{policy.ActionRead, policy.ActionWrite, policy.ActionRotate, policy.ActionDelete} {
				u.Name, u.Action = o.name, action
				require.False(t, def.Allowed(u), "default policy: %s may %s %s", who, action, o.name)
				require.False(t, permissive.Allowed(u), "permissive policy: %s may %s %s", who, action, o.name)
			}
			u.Name, u.Action = o.name, policy.ActionDescribe
			require.True(t, permissive.Allowed(u), "%s may describe %s when a rule says so", who, o.name)
		}
		for _, svc := range []string{slack, ingst, infer} {
			req := policy.Request{Caller: svc, Name: o.name, Action: policy.ActionRead}
			require.Equal(t, svc == o.owner, permissive.Allowed(req), "%s reading %s", svc, o.name)
		}
		require.Equal(t, o.owner, policy.Owner(o.name))
	}
	require.Empty(t, policy.Owner("/prod/app/slackadapter/x"), "only the second segment names a service")
	require.Empty(t, policy.Owner("/slackadapter"))
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ desc, doc, want string }{
		{"not JSON", `{`, "policy"},
		{"unknown field", `{"rules":[{"callers":["*"],"names":["*"],"actions":["read"],"extra":1}]}`, "unknown field"},
		{"no callers", `{"rules":[{"names":["*"],"actions":["read"]}]}`, "callers: required"},
		{"no names", `{"rules":[{"callers":["*"],"actions":["read"]}]}`, "names: required"},
		{"no actions", `{"rules":[{"callers":["*"],"names":["*"]}]}`, "actions: required"},
		{"unknown action", `{"rules":[{"callers":["*"],"names":["*"],"actions":["steal"]}]}`, `unknown action "steal"`},
		{"relative name", `{"rules":[{"callers":["*"],"names":["prod/x"],"actions":["read"]}]}`, "must start with /"},
		{"bad glob", `{"rules":[{"callers":["*"],"names":["/prod/[x"],"actions":["read"]}]}`, "syntax error"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := policy.Parse([]byte(tc.doc), "prod")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRoleAndScopeAndWildcards(t *testing.T) {
	p, err := policy.Parse([]byte(`{"rules":[
	 {"callers":["*"],"roles":["ops"],"scopes":["vault:all"],"names":["/prod/ops/*"],"actions":["*"]}]}`), "prod")
	require.NoError(t, err)
	require.True(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Scopes: []string{"vault:all"}, Name: "/prod/ops/a/b", Action: policy.ActionDelete}))
	require.True(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Scopes: []string{"admin"}, Name: "/prod/ops/a/b", Action: policy.ActionRotate}), "admin holds every scope")
	require.False(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Name: "/prod/ops/a/b", Action: policy.ActionDelete}), "role without the scope")
	require.False(t, p.Allowed(policy.Request{Caller: other, Scopes: []string{"vault:all"}, Name: "/prod/ops/a/b", Action: policy.ActionRotate}), "scope without the role")
	require.False(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"admin"}, Name: "/prod/ops/a/b", Action: policy.ActionRead}), "neither role nor scope")
	require.False(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Scopes: []string{"vault:all"}, Name: "/prod/dev/a/b", Action: policy.ActionRead}), "outside the prefix")
}

func TestHolderReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.json")
	write := func(doc string) { require.NoError(t, os.WriteFile(file, []byte(doc), 0o600)) }
	write(`{"rules":[{"callers":["` + slack + `"],"names":["/{env}/slack/*"],"actions":["read"]}]}`)
	h, err := policy.NewHolder(file, "prod", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	read := policy.Request{Caller: slack, Name: "/prod/slack/token/bot", Action: policy.ActionRead}
	write2 := policy.Request{Caller: slack, Name: "/prod/slack/token/bot", Action: policy.ActionWrite}
	require.True(t, h.Allowed(read))
	require.False(t, h.Allowed(write2))

	write(`{"rules":[{"callers":["` + slack + `"],"names":["/{env}/slack/*"],"actions":["read","write"]}]}`)
	require.NoError(t, h.Reload())
	require.True(t, h.Allowed(write2), "new rule applies after reload")

	write(`{"rules":[{"callers":[],"names":["*"],"actions":["*"]}]}`)
	require.Error(t, h.Reload())
	require.True(t, h.Allowed(write2), "a bad file keeps the previous policy")

	require.NoError(t, os.Remove(file))
	require.Error(t, h.Reload())
	require.True(t, h.Allowed(read))

	_, err = policy.NewHolder(file, "prod", slog.New(slog.DiscardHandler))
	require.Error(t, err, "a missing file fails at start")
	d, err := policy.NewHolder("", "prod", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Error(t, d.Reload(), "the embedded default has no file")
}

func FuzzMatchName(f *testing.F) {
	f.Add("/{env}/slack/*", "/prod/slack/token/bot")
	f.Add("/**", "")
	f.Add("/a/[b", "/a/b")
	f.Fuzz(func(_ *testing.T, pattern, name string) {
		_ = policy.MatchName(pattern, name, "prod")
	})
}
