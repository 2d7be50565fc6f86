package local

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"

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

// HashEmbedding embeds text by signed feature hashing of its lower-cased
// words and word bigrams (FNV-1a 64) into dims buckets, L2-normalized. The
// same text always yields the same vector; texts sharing words have a
// positive cosine similarity. Empty or word-less text yields the zero vector.
func HashEmbedding(text string, dims int) []float32 {
	v := make([]float64, dims)
	ws := words(text)
	feature := func(s string) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		x := h.Sum64()
		idx := int(x % uint64(dims)) //nolint:gosec // dims is positive and small
		if x>>63 == 1 {
			v[idx]--
		} else {
			v[idx]++
		}
	}
	for i, w := range ws {
		feature(w)
		if i > 0 {
			feature(ws[i-1] + " " + w)
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}
