package local

import (
	"context"
	"encoding/json"
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
		return provider.Capabilities{Chat: true, Stream: true, Tools: true, JSONMode: true, StructuredOutputs: true}
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

// echo answers with the last user message. It honours tool_choice:
// "required" or a named function always returns a call (arguments from a
// "call:<tool> <json>" message for that tool, else built from the tool's
// parameters schema), "none" never does, "auto" only for "call:" messages.
// With response_format json_schema the answer is an instance of the schema
// whose strings carry the message; with json_object a JSON object (the
// message if it is one). A plain answer ends before the first stop
// sequence, as a model's does.
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
		rest, asked := strings.CutPrefix(last, "call:")
		name, args, _ := strings.Cut(rest, " ")
		if !asked {
			name, args = "", ""
		}
		switch choice {
		case "", "auto":
		case "required":
			if !asked || !offered(r.Tools, name) {
				name, args = r.Tools[0].Function.Name, ""
			}
			asked = true
		default: // a named function
			if name != choice {
				name, args = choice, ""
			}
			asked = true
		}
		if asked {
			if args == "" {
				args = toolArguments(r.Tools, name, last)
			}
			return &provider.ChatResult{
				ToolCalls:    []wire.ToolCall{{ID: "call_echo_0", Type: "function", Function: wire.ToolCallFunction{Name: name, Arguments: args}}},
				FinishReason: "tool_calls",
			}
		}
	}
	if r.StructuredOutput() {
		b, err := json.Marshal(instance(r.ResponseFormat.JSONSchema.Schema, last))
		if err != nil {
			b = []byte("{}")
		}
		return &provider.ChatResult{Content: string(b), HasContent: true, FinishReason: "stop"}
	}
	if r.ResponseFormat != nil && r.ResponseFormat.Type == "json_object" {
		return &provider.ChatResult{Content: jsonObject(last), HasContent: true, FinishReason: "stop"}
	}
	return truncate(cutAtStop(last, r.Stop), r.MaxOutputTokens())
}

// jsonObject is text when it is a JSON object, else {"text": text}: the
// answer to json_object is always one, as OpenAI guarantees.
func jsonObject(text string) string {
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return t
	}
	b, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return "{}"
	}
	return string(b)
}

// cutAtStop is text up to the earliest of the stop sequences.
func cutAtStop(text string, stop []string) string {
	for _, s := range stop {
		if i := strings.Index(text, s); s != "" && i >= 0 {
			text = text[:i]
		}
	}
	return text
}

func offered(tools []wire.Tool, name string) bool {
	for _, t := range tools {
		if t.Function.Name == name {
			return true
		}
	}
	return false
}

// toolArguments builds arguments valid for the named tool's parameters
// schema, with text in its strings ("{}" for a tool without parameters).
func toolArguments(tools []wire.Tool, name, text string) string {
	for _, t := range tools {
		if t.Function.Name == name && len(t.Function.Parameters) > 0 {
			if b, err := json.Marshal(instance(t.Function.Parameters, text)); err == nil {
				return string(b)
			}
		}
	}
	return "{}"
}

// truncate limits text to max estimated tokens (0 = no limit).
func truncate(text string, limit int) *provider.ChatResult {
	if limit > 0 && provider.EstimateTokens(text) > limit {
		return &provider.ChatResult{Content: cutRunes(text, limit*4), HasContent: true, FinishReason: "length"}
	}
	return &provider.ChatResult{Content: text, HasContent: true, FinishReason: "stop"}
}
