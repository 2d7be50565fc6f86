package local

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Model names served by this provider.
const (
	Extractive = "rampart-extractive"
	Echo       = "echo"
	HashEmbed  = "rampart-hash-embed"
)

// DefaultDimensions is rampart-hash-embed's default vector size.
const DefaultDimensions = 256

// MaxDimensions bounds the dimensions parameter.
const MaxDimensions = 4096

// Provider is the local provider.
type Provider struct{}

// New returns the local provider.
func New() *Provider { return &Provider{} }

// Name implements provider.Provider.
func (*Provider) Name() string { return "local" }

// Capabilities implements provider.Provider.
func (*Provider) Capabilities(model string) provider.Capabilities {
	switch model {
	case Extractive:
		return provider.Capabilities{Chat: true, Stream: true}
	case Echo:
		return provider.Capabilities{Chat: true, Stream: true, Tools: true, JSONMode: true}
	case HashEmbed:
		return provider.Capabilities{Embeddings: true}
	}
	return provider.Capabilities{}
}

// Chat implements provider.Provider.
func (p *Provider) Chat(ctx context.Context, call *provider.ChatCall) (*provider.ChatResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch call.UpstreamModel {
	case Echo:
		return echo(call.Request), nil
	case Extractive:
		return extract(call), nil
	}
	return nil, fmt.Errorf("local: unknown chat model %q", call.UpstreamModel)
}

// Stream implements provider.Provider: the answer is emitted word by word.
func (p *Provider) Stream(ctx context.Context, call *provider.ChatCall, emit func(*provider.Delta) error) error {
	res, err := p.Chat(ctx, call)
	if err != nil {
		return err
	}
	if len(res.ToolCalls) > 0 {
		if err := emit(&provider.Delta{ToolCalls: res.ToolCalls}); err != nil {
			return err
		}
	}
	text := res.Content
	for text != "" {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := strings.IndexByte(text[min(1, len(text)):], ' ')
		piece := text
		if i >= 0 {
			piece = text[:i+1]
		}
		text = text[len(piece):]
		if err := emit(&provider.Delta{Content: piece}); err != nil {
			return err
		}
	}
	return emit(&provider.Delta{FinishReason: res.FinishReason, Citations: res.Citations})
}

func echo(r *wire.ChatRequest) *provider.ChatResult {
	last := ""
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			last = r.Messages[i].Content.Text
			break
		}
	}
	choice, _ := r.ToolChoiceName()
	if len(r.Tools) > 0 && choice != "none" {
		if rest, ok := strings.CutPrefix(last, "call:"); ok {
			name, args, _ := strings.Cut(rest, " ")
			if args == "" {
				args = "{}"
			}
			return &provider.ChatResult{
				ToolCalls:    []wire.ToolCall{{ID: "call_echo_0", Type: "function", Function: wire.ToolCallFunction{Name: name, Arguments: args}}},
				FinishReason: "tool_calls",
			}
		}
	}
	return truncate(last, r.MaxOutputTokens())
}

// truncate limits text to max estimated tokens (0 = no limit).
func truncate(text string, limit int) *provider.ChatResult {
	if limit > 0 && provider.EstimateTokens(text) > limit {
		return &provider.ChatResult{Content: cutRunes(text, limit*4), HasContent: true, FinishReason: "length"}
	}
	return &provider.ChatResult{Content: text, HasContent: true, FinishReason: "stop"}
}
