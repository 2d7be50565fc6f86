package openai

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/rampart-platform/rampart/pkg/jsonwrite"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// upstreamChat is the request body sent upstream.
type upstreamChat struct {
	*wire.ChatRequest
	Model         string              `json:"model"`
	Stream        bool                `json:"stream,omitempty"`
	StreamOptions *wire.StreamOptions `json:"stream_options,omitempty"`
}

// encodeUpstream encodes the request sent upstream: the bytes json.Marshal
// writes for u, written without reflection when the request has no tools,
// tool_choice, response_format, metadata or rampart member (those take
// json.Marshal). json.Marshal alone was ~3 % of inference's CPU per chat
// completion (issue 15, ADR 0053); TestEncodeUpstreamMatchesMarshal.
func encodeUpstream(u upstreamChat) ([]byte, error) {
	if b, ok := appendUpstream(make([]byte, 0, 512), &u); ok {
		return b, nil
	}
	return json.Marshal(u)
}

// appendUpstream writes u in encoding/json's field order: the embedded
// request's members, then the outer model, stream and stream_options that
// shadow the request's own.
func appendUpstream(b []byte, u *upstreamChat) ([]byte, bool) {
	r := u.ChatRequest
	if r == nil || len(r.Tools) > 0 || len(r.ToolChoice) > 0 || r.ResponseFormat != nil || len(r.Metadata) > 0 || r.Rampart != nil ||
		len(r.Modalities) > 0 || r.ServiceTier != "" || len(r.LogitBias) > 0 || (u.StreamOptions != nil && u.StreamOptions.IncludeObfuscation != nil) {
		return b, false
	}
	b = append(b, `{"messages":`...)
	b = jsonwrite.AppendArray(b, r.Messages, appendMessage)
	var ok bool
	if b, ok = appendFloat(b, `,"temperature":`, r.Temperature); !ok {
		return b, false
	}
	if b, ok = appendFloat(b, `,"top_p":`, r.TopP); !ok {
		return b, false
	}
	b = appendInt(b, `,"max_tokens":`, r.MaxTokens)
	b = appendInt(b, `,"max_completion_tokens":`, r.MaxCompletionTokens)
	if len(r.Stop) > 0 {
		b = append(b, `,"stop":`...)
		b = jsonwrite.AppendArray(b, r.Stop, jsonwrite.AppendStringElem)
	}
	b = appendInt(b, `,"n":`, r.N)
	if r.User != "" {
		b = append(b, `,"user":`...)
		b = jsonwrite.AppendString(b, r.User)
	}
	if r.Seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *r.Seed, 10)
	}
	b = appendBool(b, `,"logprobs":`, r.Logprobs)
	b = appendInt(b, `,"top_logprobs":`, r.TopLogprobs)
	if r.ReasoningEffort != "" {
		b = append(b, `,"reasoning_effort":`...)
		b = jsonwrite.AppendString(b, r.ReasoningEffort)
	}
	if r.Verbosity != "" {
		b = append(b, `,"verbosity":`...)
		b = jsonwrite.AppendString(b, r.Verbosity)
	}
	if b, ok = appendFloat(b, `,"frequency_penalty":`, r.FrequencyPenalty); !ok {
		return b, false
	}
	if b, ok = appendFloat(b, `,"presence_penalty":`, r.PresencePenalty); !ok {
		return b, false
	}
	b = appendBool(b, `,"parallel_tool_calls":`, r.ParallelToolCalls)
	b = appendBool(b, `,"store":`, r.Store)
	b = append(b, `,"model":`...)
	b = jsonwrite.AppendString(b, u.Model)
	if u.Stream {
		b = append(b, `,"stream":true`...)
	}
	if u.StreamOptions != nil {
		b = append(b, `,"stream_options":{"include_usage":`...)
		b = strconv.AppendBool(b, u.StreamOptions.IncludeUsage)
		b = append(b, '}')
	}
	return append(b, '}'), true
}

func appendMessage(b []byte, m *wire.Message) []byte {
	b = append(b, `{"role":`...)
	b = jsonwrite.AppendString(b, m.Role)
	b = append(b, `,"content":`...)
	if m.Content.Null || (!m.Content.Set && m.Content.Text == "") {
		b = append(b, "null"...)
	} else {
		b = jsonwrite.AppendString(b, m.Content.Text)
	}
	if m.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonwrite.AppendString(b, m.Name)
	}
	if len(m.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":`...)
		b = wire.AppendToolCalls(b, m.ToolCalls)
	}
	if m.ToolCallID != "" {
		b = append(b, `,"tool_call_id":`...)
		b = jsonwrite.AppendString(b, m.ToolCallID)
	}
	return append(b, '}')
}

// appendFloat writes an omitempty *float64 member; NaN and infinities
// (which json.Marshal refuses) report false.
func appendFloat(b []byte, member string, f *float64) ([]byte, bool) {
	if f == nil {
		return b, true
	}
	if math.IsNaN(*f) || math.IsInf(*f, 0) {
		return b, false
	}
	return jsonwrite.AppendFloat(append(b, member...), *f), true
}

func appendInt(b []byte, member string, n *int) []byte {
	if n == nil {
		return b
	}
	return strconv.AppendInt(append(b, member...), int64(*n), 10)
}

func appendBool(b []byte, member string, v *bool) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendBool(append(b, member...), *v)
}
