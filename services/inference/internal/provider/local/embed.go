package local

import (
	"context"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/hashembed"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
)

// Embed implements provider.Provider for rampart-hash-embed.
func (p *Provider) Embed(ctx context.Context, call *provider.EmbedCall) (*provider.EmbedResult, error) {
	if call.UpstreamModel != HashEmbed {
		return nil, fmt.Errorf("local: unknown embedding model %q", call.UpstreamModel)
	}
	dims := call.Dimensions
	if dims == 0 {
		dims = DefaultDimensions
	}
	res := &provider.EmbedResult{Vectors: make([][]float32, len(call.Inputs))}
	for i, in := range call.Inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Vectors[i] = HashEmbedding(in, dims)
		res.Usage.PromptTokens += provider.EstimateTokens(in)
	}
	return res, nil
}

// HashEmbedding is rampart-hash-embed's vector for text (pkg/hashembed,
// shared with ingestion so queries and indexed chunks are comparable).
func HashEmbedding(text string, dims int) []float32 { return hashembed.Vector(text, dims) }
