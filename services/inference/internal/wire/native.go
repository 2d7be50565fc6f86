package wire

import (
	"encoding/json"
	"strings"
)

// NativeRequest is the body Rampart sends to an upstream's own
// /responses (native pass-through, ADR 0040). It is built from the parsed
// request rather than copied, so only what Rampart validated travels: the
// model is the upstream's name for it, the conversation is the one chat
// would have run (a previous response's conversation, an assistant's
// system prompt and grounded passages included), and store is always
// false: the stored copy is Rampart's, sealed with the tenant's key.
type NativeRequest struct {
	Model             string            `json:"model"`
	Instructions      *string           `json:"instructions,omitempty"`
	Input             []NativeItem      `json:"input"`
	Tools             []ResponsesTool   `json:"tools,omitempty"`
	ToolChoice        json.RawMessage   `json:"tool_choice,omitempty"`
	Text              *ResponsesText    `json:"text,omitempty"`
	Temperature       *float64          `json:"temperature,omitempty"`
	TopP              *float64          `json:"top_p,omitempty"`
	MaxOutputTokens   *int              `json:"max_output_tokens,omitempty"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
	User              string            `json:"user,omitempty"`
	Reasoning         json.RawMessage   `json:"reasoning,omitempty"`
	SafetyIdentifier  string            `json:"safety_identifier,omitempty"`
	PromptCacheKey    string            `json:"prompt_cache_key,omitempty"`
	Include           []string          `json:"include,omitempty"`
	Store             bool              `json:"store"`
	Stream            bool              `json:"stream,omitempty"`
	Metadata          map[string]string `json:"-"` // never forwarded
}

// NativeItem is one input item sent upstream: a message, a function call,
// a function call's output or a reasoning item (with its
// encrypted_content, ResponsesRequest.reasoning).
type NativeItem struct {
	Type      string  `json:"type"`
	ID        string  `json:"id,omitempty"`
	Role      string  `json:"role,omitempty"`
	Content   *string `json:"content,omitempty"`
	CallID    string  `json:"call_id,omitempty"`
	Name      string  `json:"name,omitempty"`
	Arguments *string `json:"arguments,omitempty"`
	Output    *string `json:"output,omitempty"`

	Summary          *[]SummaryText `json:"summary,omitempty"`
	EncryptedContent *string        `json:"encrypted_content,omitempty"`
}

// Native returns the upstream request for r whose conversation is chat's
// messages (the request as the model runs it): the leading system and
// developer messages (r's instructions, an assistant's system prompt, the
// grounded passages) become the instructions, the rest input items.
func (r *ResponsesRequest) Native(chat *ChatRequest) *NativeRequest {
	n := &NativeRequest{
		Tools: r.Tools, Text: r.Text, Temperature: r.Temperature, TopP: r.TopP,
		MaxOutputTokens: r.MaxOutputTokens, ParallelToolCalls: r.ParallelToolCalls, User: r.User,
		Reasoning: r.Reasoning, SafetyIdentifier: r.SafetyIdentifier, PromptCacheKey: r.PromptCacheKey, Include: r.replayInclude(),
	}
	if len(r.ToolChoice) > 0 && string(r.ToolChoice) != "null" {
		n.ToolChoice = r.ToolChoice
	}
	msgs := chat.Messages
	var sys []string
	for len(msgs) > 0 && (msgs[0].Role == "system" || msgs[0].Role == "developer") {
		sys = append(sys, msgs[0].Content.Text)
		msgs = msgs[1:]
	}
	if len(sys) > 0 {
		s := strings.Join(sys, "\n\n")
		n.Instructions = &s
	}
	n.Input = make([]NativeItem, 0, len(msgs))
	for i, m := range msgs {
		// Reasoning items are keyed by their message's place from the end
		// (everything Rampart adds is at the front).
		n.Input = append(n.Input, r.reasoning[len(msgs)-i]...)
		n.Input = append(n.Input, nativeItems(m)...)
	}
	return n
}

// nativeItems is one chat message as input items.
func nativeItems(m Message) []NativeItem {
	switch {
	case m.Role == "tool":
		out := m.Content.Text
		return []NativeItem{{Type: "function_call_output", CallID: m.ToolCallID, Output: &out}}
	case len(m.ToolCalls) > 0:
		var items []NativeItem
		if m.Content.Text != "" {
			text := m.Content.Text
			items = append(items, NativeItem{Type: "message", Role: m.Role, Content: &text})
		}
		for _, tc := range m.ToolCalls {
			args := tc.Function.Arguments
			items = append(items, NativeItem{Type: "function_call", CallID: tc.ID, Name: tc.Function.Name, Arguments: &args})
		}
		return items
	default:
		text := m.Content.Text
		return []NativeItem{{Type: "message", Role: m.Role, Content: &text}}
	}
}

// NativeResponse is an upstream's response object as far as Rampart reads
// it: the output items stay as the upstream sent them (reasoning items and
// annotations included), the rest of the object is Rampart's own.
type NativeResponse struct {
	Status            string             `json:"status"`
	Error             json.RawMessage    `json:"error"`
	IncompleteDetails *IncompleteDetails `json:"incomplete_details"`
	Output            []json.RawMessage  `json:"output"`
	Usage             *ResponsesUsage    `json:"usage"`
}

// NativeItems decodes an upstream's output items, keeping each one's JSON
// as sent (OutputItem.Raw).
func NativeItems(raw []json.RawMessage) ([]OutputItem, error) {
	items := make([]OutputItem, 0, len(raw))
	for _, b := range raw {
		it, err := NativeOutputItem(b)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// NativeOutputItem decodes one upstream output item, keeping its JSON.
func NativeOutputItem(b json.RawMessage) (OutputItem, error) {
	var it OutputItem
	if err := json.Unmarshal(b, &it); err != nil {
		return OutputItem{}, err
	}
	it.Raw = append(json.RawMessage(nil), b...)
	return it, nil
}

// Call returns a function_call item as a chat tool call (for the tool
// policy and the stored conversation).
func (o *OutputItem) Call() ToolCall {
	args := ""
	if o.Arguments != nil {
		args = *o.Arguments
	}
	return ToolCall{ID: o.CallID, Type: "function", Function: ToolCallFunction{Name: o.Name, Arguments: args}}
}

// Text is the text of a message item (its output_text parts).
func (o *OutputItem) Text() string {
	var b strings.Builder
	for _, c := range o.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}
