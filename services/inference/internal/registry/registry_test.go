package registry_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
)

func TestExamplesLoad(t *testing.T) {
	f, err := registry.Load("../../examples/models.json")
	require.NoError(t, err)
	r, err := registry.New(f)
	require.NoError(t, err)
	m, err := r.Resolve("acme", nil, "fast")
	require.NoError(t, err)
	require.Equal(t, "gpt-4o-mini", m.ID)
	_, err = r.Resolve("other", nil, "gpt-4o-mini")
	e, _ := apierr.As(err)
	require.Equal(t, "model_not_found", e.Code)

	tf, err := toolpolicy.Load("../../examples/tool-policy.json")
	require.NoError(t, err)
	_, err = toolpolicy.New(tf)
	require.NoError(t, err)
}

// TestDeployAWSRegistryLoads: the registry the Kubernetes aws overlay
// mounts (deploy/k8s/overlays/aws/models.json) loads, serves its Bedrock
// models to every tenant and keeps the offline model slackadapter answers
// with by default.
func TestDeployAWSRegistryLoads(t *testing.T) {
	f, err := registry.Load("../../../../deploy/k8s/overlays/aws/models.json")
	require.NoError(t, err)
	r, err := registry.New(f)
	require.NoError(t, err)
	for _, id := range []string{"rampart-extractive", "rampart-hash-embed", "claude-3-5-haiku", "titan-embed-v2"} {
		m, err := r.Resolve("any-tenant", nil, id)
		require.NoError(t, err, id)
		require.Equal(t, id, m.ID)
	}
}

func TestInvalidRegistries(t *testing.T) {
	tests := []struct {
		name string
		f    registry.File
	}{
		{"duplicate", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}, {ID: "a", Upstream: "local"}}}},
		{"unknown upstream", registry.File{Models: []registry.Model{{ID: "a", Upstream: "nope"}}}},
		{"bad kind", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local", Kind: "image"}}}},
		{"fallback of other kind", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local", Fallback: "e"}, {ID: "e", Kind: "embedding", Upstream: "local"}}}},
		{"tenant allows unknown", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Tenants: map[string]registry.Tenant{"t": {AllowedModels: []string{"b"}}}}},
		{"negative prompt log retention", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Tenants: map[string]registry.Tenant{"t": {AllowedModels: []string{"*"}, PromptLogRetentionDays: -1}}}},
		{"prompt log retention past ten years", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Default: &registry.Tenant{AllowedModels: []string{"*"}, PromptLogRetentionDays: 3651}}},
		{"alias shadows", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Tenants: map[string]registry.Tenant{"t": {AllowedModels: []string{"*"}, Aliases: map[string]string{"a": "a"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registry.New(&tt.f)
			require.Error(t, err)
		})
	}
}

// TestPromptLogRetention: a tenant's own days win, then the default
// entry's, then the service setting.
func TestPromptLogRetention(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name    string
		def     *registry.Tenant
		tenants map[string]registry.Tenant
		tenant  string
		want    time.Duration
	}{
		{"service setting", nil, nil, "t1", 30 * day},
		{"tenant days", nil, map[string]registry.Tenant{"t1": {AllowedModels: []string{"*"}, PromptLogRetentionDays: 7}}, "t1", 7 * day},
		{"another tenant's days do not apply", nil, map[string]registry.Tenant{"t1": {AllowedModels: []string{"*"}, PromptLogRetentionDays: 7}}, "t2", 30 * day},
		{"default entry", &registry.Tenant{AllowedModels: []string{"*"}, PromptLogRetentionDays: 90}, nil, "t2", 90 * day},
		{"zero means the service setting", nil, map[string]registry.Tenant{"t1": {AllowedModels: []string{"*"}}}, "t1", 30 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := registry.New(&registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Default: tt.def, Tenants: tt.tenants})
			require.NoError(t, err)
			require.Equal(t, tt.want, r.PromptLogRetention(tt.tenant, 30*day))
		})
	}
}

func TestCost(t *testing.T) {
	m := registry.Model{InputUSDPerMTok: 0.15, OutputUSDPerMTok: 0.6}
	require.Equal(t, int64(0), m.CostMicroUSD(0, 0))
	require.Equal(t, int64(1), m.CostMicroUSD(1, 0), "rounded up")
	require.Equal(t, int64(150_000+600_000), m.CostMicroUSD(1_000_000, 1_000_000))
}

func TestUpstreamCredentialSettings(t *testing.T) {
	tests := []struct {
		name string
		up   registry.Upstream
		ok   bool
	}{
		{"secret", registry.Upstream{Type: "openai", BaseURL: "http://x", APIKeySecret: "/prod/inference/api-key/openai"}, true},
		{"secret field", registry.Upstream{Type: "openai", BaseURL: "http://x", APIKeySecret: "/prod/inference/api-key/openai", APIKeySecretField: "api_key"}, true},
		{"two sources", registry.Upstream{Type: "openai", BaseURL: "http://x", APIKeySecret: "/prod/inference/k/x", APIKeyEnv: "X"}, false},
		{"relative name", registry.Upstream{Type: "openai", BaseURL: "http://x", APIKeySecret: "prod/inference/k/x"}, false},
		{"field without secret", registry.Upstream{Type: "openai", BaseURL: "http://x", APIKeySecretField: "api_key"}, false},
		{"bedrock secret", registry.Upstream{Type: "bedrock", APIKeySecret: "/prod/inference/k/x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registry.New(&registry.File{
				Upstreams: map[string]registry.Upstream{"u": tt.up},
				Models:    []registry.Model{{ID: "m", Upstream: "u"}},
			})
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// TestResponsesAPIMode: responses_api resolves per model: translate by
// default, native when declared, auto native only on OpenAI's own API;
// other values and other providers are configuration errors.
func TestResponsesAPIMode(t *testing.T) {
	ups := map[string]registry.Upstream{
		"openai": {Type: "openai", BaseURL: "https://api.openai.com/v1"},
		"vllm":   {Type: "openai", BaseURL: "http://vllm.internal:8000/v1"},
		"aws":    {Type: "bedrock", Region: "eu-west-1"},
	}
	tests := []struct {
		name, upstream, mode, kind string
		native                     bool
		bad                        bool
	}{
		{"default translates", "openai", "", "", false, false},
		{"translate", "openai", "translate", "", false, false},
		{"native", "vllm", "native", "", true, false},
		{"auto on OpenAI", "openai", "auto", "", true, false},
		{"auto elsewhere", "vllm", "auto", "", false, false},
		{"unknown mode", "openai", "sometimes", "", false, true},
		{"native on bedrock", "aws", "native", "", false, true},
		{"native on local", "local", "native", "", false, true},
		{"native embedding model", "openai", "native", registry.KindEmbedding, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := registry.New(&registry.File{Upstreams: ups,
				Models: []registry.Model{{ID: "m", Upstream: tt.upstream, ResponsesAPI: tt.mode, Kind: tt.kind}}})
			if tt.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			m, ok := r.Model("m")
			require.True(t, ok)
			require.Equal(t, tt.native, m.NativeResponses())
		})
	}
}

// A model's created does not move with the registry's construction time
// (ADR 0117): two builds in different seconds, as two starts or a reload,
// list the same value, and a created set in the file is kept.
func TestCreatedIsStableAcrossBuilds(t *testing.T) {
	f := registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}, {ID: "b", Upstream: "local", Created: 1690000000}}}
	list := func() []registry.Entry {
		r, err := registry.New(&f)
		require.NoError(t, err)
		return r.List("t", nil)
	}
	first := list()
	for sec := time.Now().Unix(); time.Now().Unix() == sec; {
		time.Sleep(10 * time.Millisecond)
	}
	second := list()
	require.Equal(t, first, second)
	require.Equal(t, []registry.Entry{
		{ID: "a", OwnedBy: "local", Created: registry.DefaultCreated},
		{ID: "b", OwnedBy: "local", Created: 1690000000},
	}, second)
}
