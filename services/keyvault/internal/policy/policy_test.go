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
	tests := []struct {
		desc string
		req  policy.Request
		want bool
	}{
		{"admin through the edge reads", policy.Request{Caller: edge, Roles: []string{"admin"}, Name: "/prod/x/y/z", Action: policy.ActionRead}, true},
		{"member through the edge only describes", policy.Request{Caller: edge, Roles: []string{"member"}, Name: "/prod/x/y/z", Action: policy.ActionDescribe}, true},
		{"member through the edge may not read", policy.Request{Caller: edge, Roles: []string{"member"}, Name: "/prod/x/y/z", Action: policy.ActionRead}, false},
		{"secrets:read scope reads", policy.Request{Caller: edge, Scopes: []string{"secrets:read"}, Name: "/prod/x/y/z", Action: policy.ActionRead}, true},
		{"secrets:read scope may not write", policy.Request{Caller: edge, Scopes: []string{"secrets:read"}, Name: "/prod/x/y/z", Action: policy.ActionWrite}, false},
		{"slack reads its own", policy.Request{Caller: slack, Name: "/prod/slack-adapter/token/bot", Action: policy.ActionRead}, true},
		{"slack may not read inference's", policy.Request{Caller: slack, Name: "/prod/inference/key/openai", Action: policy.ActionRead}, false},
		{"slack may not read another env", policy.Request{Caller: slack, Name: "/dev/slack-adapter/token/bot", Action: policy.ActionRead}, false},
		{"slack may not delete", policy.Request{Caller: slack, Name: "/prod/slack-adapter/token/bot", Action: policy.ActionDelete}, false},
		{"inference reads its own", policy.Request{Caller: infer, Name: "/prod/inference/key/openai", Action: policy.ActionRead}, true},
		{"inference may not write", policy.Request{Caller: infer, Name: "/prod/inference/key/openai", Action: policy.ActionWrite}, false},
		{"ingestion uses KMS", policy.Request{Caller: ingst, Action: policy.ActionKMS}, true},
		{"edge callers may not use KMS without a rule", policy.Request{Caller: edge, Roles: []string{"admin"}, Action: policy.ActionKMS}, false},
		{"unknown caller denied", policy.Request{Caller: other, Roles: []string{"owner"}, Name: "/prod/x/y/z", Action: policy.ActionRead}, false},
		{"empty request denied", policy.Request{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			require.Equal(t, tc.want, p.Allowed(tc.req))
		})
	}
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

func TestRoleOrScopeAndWildcards(t *testing.T) {
	p, err := policy.Parse([]byte(`{"rules":[
	 {"callers":["*"],"roles":["ops"],"scopes":["vault:all"],"names":["/prod/ops/*"],"actions":["*"]}]}`), "prod")
	require.NoError(t, err)
	require.True(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Name: "/prod/ops/a/b", Action: policy.ActionDelete}))
	require.True(t, p.Allowed(policy.Request{Caller: other, Scopes: []string{"vault:all"}, Name: "/prod/ops/a/b", Action: policy.ActionRotate}))
	require.False(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"admin"}, Name: "/prod/ops/a/b", Action: policy.ActionRead}), "neither role nor scope")
	require.False(t, p.Allowed(policy.Request{Caller: other, Roles: []string{"ops"}, Name: "/prod/dev/a/b", Action: policy.ActionRead}), "outside the prefix")
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
