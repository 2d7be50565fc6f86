package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/provider/bedrock"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
)

// TestBedrockOnlyWhenConfigured: the AWS SDK's configuration and Bedrock
// client are built only for a bedrock upstream; a registry without one
// (the default, the bench's openai one) builds nothing of the SDK (ADR
// 0087: an idle inference should not hold what it does not use).
func TestBedrockOnlyWhenConfigured(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never reach for an instance role
	t.Setenv("UPSTREAM_TEST_KEY", "sk-test")
	openaiUp := registry.Upstream{Type: "openai", BaseURL: "http://127.0.0.1:1/v1", APIKeyEnv: "UPSTREAM_TEST_KEY"}
	bedrockUp := registry.Upstream{Type: "bedrock", Region: "eu-west-1"}
	local := registry.Model{ID: "echo", Upstream: "local", OwnedBy: "rampart"}
	tests := []struct {
		name      string
		file      *registry.File
		wantBuilt int
	}{
		{"the default registry", registry.Default(), 0},
		{"an openai upstream", &registry.File{
			Upstreams: map[string]registry.Upstream{"oai": openaiUp},
			Models:    []registry.Model{local, {ID: "gpt-4o-mini", Upstream: "oai"}},
		}, 0},
		{"a bedrock upstream next to an openai one", &registry.File{
			Upstreams: map[string]registry.Upstream{"oai": openaiUp, "aws": bedrockUp},
			Models:    []registry.Model{local, {ID: "gpt-4o-mini", Upstream: "oai"}, {ID: "claude", Upstream: "aws", UpstreamModel: "anthropic.claude-3-haiku"}},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			built := 0
			orig := newBedrock
			t.Cleanup(func() { newBedrock = orig })
			newBedrock = func(ctx context.Context, c bedrock.Config) (*bedrock.Provider, error) {
				built++
				return orig(ctx, c)
			}
			reg, err := registry.New(tt.file)
			require.NoError(t, err)
			providers, err := buildProviders(t.Context(), tt.file, reg, nil, nil, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.Equal(t, tt.wantBuilt, built)
			for _, name := range reg.Upstreams() {
				require.Contains(t, providers, name)
			}
		})
	}
}
