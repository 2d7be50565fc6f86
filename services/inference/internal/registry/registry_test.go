package registry_test

import (
	"testing"

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
		{"alias shadows", registry.File{Models: []registry.Model{{ID: "a", Upstream: "local"}}, Tenants: map[string]registry.Tenant{"t": {AllowedModels: []string{"*"}, Aliases: map[string]string{"a": "a"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registry.New(&tt.f)
			require.Error(t, err)
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
