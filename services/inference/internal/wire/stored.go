package wire

import (
	"encoding/json"
	"slices"
)

// StoredMessage is one message of a stored response's conversation (what
// a later previous_response_id continues) with the reasoning items that
// came before it: those of the input that carried encrypted_content, and
// those of a native upstream's output that did (ADR 0120 §3). A
// conversation stored before them has none, and a reader that wants only
// the messages decodes the same JSON into []Message.
type StoredMessage struct {
	Message
	Reasoning []NativeItem `json:"rampart_reasoning,omitempty"`
}

// StoredConversation is what a response to r stores: r's conversation
// (a previous response's included) and then out's messages, each with the
// reasoning items that preceded it.
func (r *ResponsesRequest) StoredConversation(out []OutputItem) []StoredMessage {
	conv := make([]StoredMessage, 0, len(r.input)+len(out))
	for i, m := range r.input {
		conv = append(conv, StoredMessage{Message: m, Reasoning: r.reasoning[len(r.input)-i]})
	}
	return append(conv, outputStored(out)...)
}

// ContinueStored puts a previous response's stored conversation before
// the input (Continue), keeping its reasoning items for Native in the
// places they had: before the messages they preceded.
func (r *ResponsesRequest) ContinueStored(prev []StoredMessage) {
	msgs := make([]Message, len(prev))
	total := len(prev) + len(r.input)
	for j, m := range prev {
		msgs[j] = m.Message
		if len(m.Reasoning) == 0 {
			continue
		}
		if r.reasoning == nil {
			r.reasoning = map[int][]NativeItem{}
		}
		r.reasoning[total-j] = m.Reasoning
	}
	r.Continue(msgs)
}

// OutputMessages returns a response's output as chat messages: a message
// item as an assistant message, consecutive function calls as one
// assistant turn with several tool calls (unless a reasoning item with
// encrypted_content stands between them, as in an input).
func OutputMessages(out []OutputItem) []Message {
	stored := outputStored(out)
	msgs := make([]Message, len(stored))
	for i := range stored {
		msgs[i] = stored[i].Message
	}
	return msgs
}

// outputStored is out as stored messages: OutputMessages' messages, each
// with the reasoning items (as a native upstream sent them, with
// encrypted_content) that came before it; reasoning after the last
// message is dropped, as in an input.
func outputStored(out []OutputItem) []StoredMessage {
	var msgs []StoredMessage
	var pending []NativeItem
	for _, it := range out {
		switch it.Type {
		case "reasoning":
			if r, ok := outputReasoning(&it); ok {
				pending = append(pending, r)
			}
			continue
		case "message":
			var text []byte
			for _, c := range it.Content {
				if c.Type == "output_text" {
					text = append(text, c.Text...)
				} else {
					text = append(text, c.Refusal...)
				}
			}
			msgs = append(msgs, StoredMessage{Message: Message{Role: "assistant", Content: Content{Text: string(text), Set: true}}})
		case "function_call":
			tc := it.Call()
			if n := len(msgs); n > 0 && len(pending) == 0 && msgs[n-1].Role == "assistant" && len(msgs[n-1].ToolCalls) > 0 {
				msgs[n-1].ToolCalls = append(msgs[n-1].ToolCalls, tc)
				continue
			}
			msgs = append(msgs, StoredMessage{Message: Message{Role: "assistant", Content: Content{Null: true, Set: true}, ToolCalls: []ToolCall{tc}}})
		default:
			continue
		}
		if len(pending) > 0 {
			msgs[len(msgs)-1].Reasoning, pending = pending, nil
		}
	}
	return msgs
}

// outputReasoning is a native upstream's reasoning output item as an
// input item to send back: its id, summary and encrypted_content. Only
// one with encrypted_content can be sent back (Rampart has the upstream
// store nothing, so an id alone names nothing there).
func outputReasoning(it *OutputItem) (NativeItem, bool) {
	if it.Raw == nil {
		return NativeItem{}, false
	}
	var r struct {
		ID               string        `json:"id"`
		Summary          []SummaryText `json:"summary"`
		EncryptedContent *string       `json:"encrypted_content"`
	}
	if json.Unmarshal(it.Raw, &r) != nil || r.ID == "" || r.EncryptedContent == nil || *r.EncryptedContent == "" {
		return NativeItem{}, false
	}
	if r.Summary == nil {
		r.Summary = []SummaryText{}
	}
	return NativeItem{Type: "reasoning", ID: r.ID, Summary: &r.Summary, EncryptedContent: r.EncryptedContent}, true
}

// encryptedReasoning is the include value that makes an upstream return
// a reasoning item's encrypted_content.
const encryptedReasoning = "reasoning.encrypted_content"

// replayInclude is the include sent to a native upstream: r's, and, when
// r is stored and asks for reasoning, reasoning.encrypted_content, so the
// response's reasoning items can be sent back when a later request
// continues it (ADR 0120 §3).
func (r *ResponsesRequest) replayInclude() []string {
	if !r.StoreRequested() || len(r.Reasoning) == 0 || string(r.Reasoning) == "null" || slices.Contains(r.Include, encryptedReasoning) {
		return r.Include
	}
	return append(slices.Clip(r.Include), encryptedReasoning)
}
