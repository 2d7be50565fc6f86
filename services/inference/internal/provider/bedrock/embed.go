package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
)

// Embed implements provider.Provider with InvokeModel: Titan embeds one
// input per call; Cohere embeds a batch per call.
func (p *Provider) Embed(ctx context.Context, call *provider.EmbedCall) (*provider.EmbedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	res := &provider.EmbedResult{Usage: provider.Usage{Reported: true}}
	switch {
	case strings.Contains(call.UpstreamModel, "titan-embed"):
		for _, in := range call.Inputs {
			req := map[string]any{"inputText": in, "normalize": true}
			if call.Dimensions > 0 {
				req["dimensions"] = call.Dimensions
			}
			var out struct {
				Embedding  []float32 `json:"embedding"`
				TokenCount int       `json:"inputTextTokenCount"`
			}
			if err := p.invoke(ctx, call.UpstreamModel, req, &out); err != nil {
				return nil, err
			}
			res.Vectors = append(res.Vectors, out.Embedding)
			res.Usage.PromptTokens += out.TokenCount
		}
	case strings.Contains(call.UpstreamModel, "cohere.embed"):
		var out struct {
			Embeddings [][]float32 `json:"embeddings"`
		}
		if err := p.invoke(ctx, call.UpstreamModel, map[string]any{"texts": call.Inputs, "input_type": "search_document"}, &out); err != nil {
			return nil, err
		}
		if len(out.Embeddings) != len(call.Inputs) {
			return nil, apierr.Unavailable("The upstream returned a malformed embeddings response.", 0)
		}
		res.Vectors = out.Embeddings
		res.Usage.Reported = false // Cohere on Bedrock reports no token count
	default:
		return nil, fmt.Errorf("bedrock: %q is not a supported embedding model (titan-embed, cohere.embed)", call.UpstreamModel)
	}
	return res, nil
}

func (p *Provider) invoke(ctx context.Context, model string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("bedrock: encode request: %w", err)
	}
	resp, err := p.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: body, ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
	if err != nil {
		return mapError(ctx, err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return apierr.Unavailable("The upstream returned a malformed embeddings response.", 0)
	}
	return nil
}
