package inference

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Embeddings computes embeddings, as floats or base64 of little-endian float32.
func (s *Service) Embeddings(ctx context.Context, c *Caller, body []byte) (*Output, error) {
	start := s.now()
	req, err := wire.ParseEmbeddings(body)
	if err != nil {
		return nil, err
	}
	m, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, req.Model)
	if err != nil {
		return nil, err
	}
	if m.Kind != registry.KindEmbedding {
		return nil, apierr.Invalid("model", "The model `%s` is not an embedding model.", req.Model)
	}
	dims := 0
	if req.Dimensions != nil {
		if m.MaxDimensions == 0 {
			return nil, apierr.Invalid("dimensions", "The model `%s` does not support the dimensions parameter.", req.Model)
		}
		if *req.Dimensions > m.MaxDimensions {
			return nil, apierr.Invalid("dimensions", "dimensions must be at most %d for `%s`.", m.MaxDimensions, req.Model)
		}
		dims = *req.Dimensions
	}
	st, err := s.Quota.Check(ctx, c.subject(), c.Limits)
	if err != nil {
		s.Metrics.limited(m.ID, err)
		return nil, err
	}
	res, err := s.Providers[m.Upstream].Embed(ctx, &provider.EmbedCall{UpstreamModel: m.UpstreamModel, Inputs: req.Input, Dimensions: dims})
	if err != nil {
		s.Metrics.failed(m.ID, "embeddings", err)
		return nil, s.providerErr(ctx, c, m, err)
	}
	prompt := res.Usage.PromptTokens
	if !res.Usage.Reported {
		prompt = 0
		for _, in := range req.Input {
			prompt += provider.EstimateTokens(in)
		}
	}
	out := wire.EmbeddingList{Object: "list", Model: m.ID, Data: make([]wire.Embedding, len(res.Vectors)),
		Usage: wire.EmbedUsage{PromptTokens: prompt, TotalTokens: prompt}}
	for i, v := range res.Vectors {
		e := wire.Embedding{Object: "embedding", Index: i}
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(v))
			for j, f := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			e.Embedding = base64.StdEncoding.EncodeToString(buf)
		} else {
			e.Embedding = v
		}
		out.Data[i] = e
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode embeddings: %w", err)
	}
	s.finish(ctx, c, m, "embeddings", store.Record{PromptTokens: int64(prompt), Estimated: !res.Usage.Reported}, start)
	return &Output{Body: b, Headers: rateHeaders(st)}, nil
}
