package wire

import (
	"encoding/json"
	"fmt"
	"strings"
)

// InputItem is one item of GET /v1/responses/{id}/input_items: a message
// (input_text parts, output_text for the assistant), a function call or a
// function call's output, as OpenAI lists them.
type InputItem struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Status    string          `json:"status"`
	Role      string          `json:"role,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	CallID    string          `json:"call_id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments *string         `json:"arguments,omitempty"`
	Output    *string         `json:"output,omitempty"`
}

// InputItems lists a stored conversation (chat messages) as input items.
// Rampart does not keep the ids of a request's items, so each item's id is
// derived from the response id and the item's position: stable across
// calls, so "after" pages through them.
func InputItems(responseID string, conv []Message) ([]InputItem, error) {
	base := strings.TrimPrefix(responseID, "resp_")
	var items []InputItem
	add := func(prefix string, it InputItem) {
		it.ID, it.Status = fmt.Sprintf("%s_%s_%d", prefix, base, len(items)), "completed"
		items = append(items, it)
	}
	for _, m := range conv {
		switch {
		case m.Role == "tool":
			out := m.Content.Text
			add("fco", InputItem{Type: "function_call_output", CallID: m.ToolCallID, Output: &out})
			continue
		case len(m.ToolCalls) == 0 || m.Content.Text != "":
			part := map[string]any{"type": "input_text", "text": m.Content.Text}
			if m.Role == "assistant" {
				part = map[string]any{"type": "output_text", "text": m.Content.Text, "annotations": []any{}}
			}
			c, err := json.Marshal([]any{part})
			if err != nil {
				return nil, fmt.Errorf("encode input item: %w", err)
			}
			add("msg", InputItem{Type: "message", Role: m.Role, Content: c})
		}
		for _, tc := range m.ToolCalls {
			args := tc.Function.Arguments
			add("fc", InputItem{Type: "function_call", CallID: tc.ID, Name: tc.Function.Name, Arguments: &args})
		}
	}
	return items, nil
}
