package inference

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// SendEvent delivers one server-sent event of a Responses stream: its
// event name and data; headers are set on the first call only.
type SendEvent func(event string, data []byte, headers map[string]string) error

// Responses serves a /v1/responses request (the OpenAI Responses API) by
// mapping it to one chat completion (same model resolution, tool policy,
// quota, usage and prompt logging as chat) and answering with a response
// object, or, for a model whose upstream serves the Responses API itself
// (registry responses_api), by forwarding it there (native.go). With "store": true the response is stored, sealed with the
// tenant's data key (stored.go); previous_response_id continues a stored
// one.
func (s *Service) Responses(ctx context.Context, c *Caller, body []byte) (*Output, error) {
	req, err := wire.ParseResponses(body)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return nil, apierr.Invalid("stream", "stream must be false on this call; use StreamChatCompletion")
	}
	if err := s.prepareStored(ctx, c, req); err != nil {
		return nil, err
	}
	if s.nativeModel(ctx, c, req.Model) != nil {
		return s.nativeResponses(ctx, c, body, req)
	}
	if err := req.CheckChatPath(); err != nil {
		return nil, err
	}
	req.ChatReasoning = s.wantsChatReasoning(ctx, c, req)
	cb, err := req.ToChat()
	if err != nil {
		return nil, err
	}
	o, err := s.Chat(ctx, c, cb, nil)
	if err != nil {
		return nil, responsesErr(err)
	}
	var cc wire.ChatCompletion
	if err := json.Unmarshal(o.Body, &cc); err != nil || len(cc.Choices) == 0 {
		return nil, fmt.Errorf("decode chat completion: %w", err)
	}
	resp := req.NewResponse(newID("resp_"), cc.Created)
	resp.Model, resp.Rampart = cc.Model, cc.Rampart
	ch := cc.Choices[0]
	if m := ch.Message; (m.Content != nil && *m.Content != "") || m.Refusal != nil || len(m.ToolCalls) == 0 {
		item := wire.OutputItem{Type: "message", ID: newID("msg_"), Status: "completed", Role: "assistant"}
		switch {
		case m.Refusal != nil:
			item.Content = []wire.ContentPart{{Type: "refusal", Refusal: *m.Refusal}}
		case m.Content != nil:
			item.Content = []wire.ContentPart{{Type: "output_text", Text: *m.Content}}
		default:
			item.Content = []wire.ContentPart{{Type: "output_text"}}
		}
		resp.Output = append(resp.Output, item)
	}
	for _, tc := range ch.Message.ToolCalls {
		args := tc.Function.Arguments
		resp.Output = append(resp.Output, wire.OutputItem{Type: "function_call", ID: "fc_" + tc.ID, Status: "completed",
			CallID: tc.ID, Name: tc.Function.Name, Arguments: &args})
	}
	resp.Finish(ch.FinishReason)
	resp.Usage = wire.ResponsesUsageOf(cc.Usage)
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	if err := s.storeResponse(ctx, c, req, resp, b); err != nil {
		return nil, err
	}
	return &Output{Body: b, Headers: o.Headers}, nil
}

// StreamResponses streams a Responses request: the chat stream re-encoded
// as the Responses API's events (response.created, response.in_progress,
// response.output_item.added, response.content_part.added,
// response.output_text.delta ... response.completed with usage).
func (s *Service) StreamResponses(ctx context.Context, c *Caller, body []byte, send SendEvent) error {
	req, err := wire.ParseResponses(body)
	if err != nil {
		return err
	}
	if !req.Stream {
		return apierr.Invalid("stream", "stream must be true on this call; use ChatCompletion")
	}
	if err := s.prepareStored(ctx, c, req); err != nil {
		return err
	}
	if s.nativeModel(ctx, c, req.Model) != nil {
		return s.streamNative(ctx, c, body, req, send)
	}
	if err := req.CheckChatPath(); err != nil {
		return err
	}
	req.ChatReasoning = s.wantsChatReasoning(ctx, c, req)
	cb, err := req.ToChat()
	if err != nil {
		return err
	}
	st := &responseStream{req: req, send: send}
	if req.StoreRequested() {
		st.store = func(resp *wire.Response) error {
			b, err := json.Marshal(resp)
			if err != nil {
				return fmt.Errorf("encode response: %w", err)
			}
			return s.storeResponse(ctx, c, req, resp, b)
		}
	}
	if err := s.Stream(ctx, c, cb, nil, st.chunk); err != nil {
		return responsesErr(err)
	}
	return st.complete()
}

// responsesErr renames the parameter of a chat-path error to the Responses
// request's name for it (messages[2].content → input[2].content).
func responsesErr(err error) error {
	if e, ok := apierr.As(err); ok && e.Param != "" {
		e.Param = wire.ChatParam(e.Param)
	}
	return err
}

// responseStream turns chat chunks into Responses events.
type responseStream struct {
	req     *wire.ResponsesRequest
	send    SendEvent
	resp    *wire.Response
	headers map[string]string
	seq     int
	finish  string
	// msg is the index in resp.Output of the open message item (-1: none).
	msg  int
	text []byte
	// store stores the final response before response.completed is sent
	// (nil: "store" was not asked for); its failure is the stream's error.
	store func(*wire.Response) error
}

type event struct {
	Type           string            `json:"type"`
	SequenceNumber int               `json:"sequence_number"`
	Response       *wire.Response    `json:"response,omitempty"`
	OutputIndex    *int              `json:"output_index,omitempty"`
	ContentIndex   *int              `json:"content_index,omitempty"`
	ItemID         string            `json:"item_id,omitempty"`
	Item           *wire.OutputItem  `json:"item,omitempty"`
	Part           *wire.ContentPart `json:"part,omitempty"`
	Delta          *string           `json:"delta,omitempty"`
	Text           *string           `json:"text,omitempty"`
	Arguments      *string           `json:"arguments,omitempty"`
	Name           string            `json:"name,omitempty"`
	// Logprobs is a pointer so that the text events carry the "logprobs": []
	// OpenAI's schema requires while the other events leave it out.
	Logprobs *[]any `json:"logprobs,omitempty"`
}

// noLogprobs is what the text events carry: Rampart refuses logprobs=true.
var noLogprobs = []any{}

func (st *responseStream) emit(e *event) error {
	e.SequenceNumber = st.seq
	st.seq++
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	h := st.headers
	st.headers = nil
	return st.send(e.Type, b, h)
}

func ptr[T any](v T) *T { return &v }

// chunk is the Send of the chat stream.
func (st *responseStream) chunk(b []byte, h map[string]string) error {
	var ck wire.Chunk
	if err := json.Unmarshal(b, &ck); err != nil {
		return fmt.Errorf("decode chunk: %w", err)
	}
	if st.resp == nil {
		st.headers = h
		st.msg = -1
		st.resp = st.req.NewResponse(newID("resp_"), ck.Created)
		st.resp.Model = ck.Model
		if err := st.emit(&event{Type: "response.created", Response: st.resp}); err != nil {
			return err
		}
		if err := st.emit(&event{Type: "response.in_progress", Response: st.resp}); err != nil {
			return err
		}
	}
	if len(ck.Choices) == 0 { // the usage chunk
		var u wire.Usage
		if json.Unmarshal(ck.Usage, &u) == nil {
			st.resp.Usage = wire.ResponsesUsageOf(&u)
		}
		return nil
	}
	ch := ck.Choices[0]
	if d := ch.Delta.Content; d != nil && *d != "" {
		if err := st.textDelta(*d); err != nil {
			return err
		}
	}
	for _, tc := range ch.Delta.ToolCalls {
		if err := st.toolCall(tc); err != nil {
			return err
		}
	}
	if ch.FinishReason != nil {
		st.finish = *ch.FinishReason
		st.resp.Rampart = ck.Rampart
	}
	return nil
}

func (st *responseStream) textDelta(d string) error {
	if err := st.openMessage(); err != nil {
		return err
	}
	st.text = append(st.text, d...)
	return st.emit(&event{Type: "response.output_text.delta", ItemID: st.resp.Output[st.msg].ID, OutputIndex: ptr(st.msg),
		ContentIndex: ptr(0), Delta: &d, Logprobs: &noLogprobs})
}

// openMessage opens a message item with one output_text part, unless one
// is open.
func (st *responseStream) openMessage() error {
	if st.msg < 0 {
		st.msg = len(st.resp.Output)
		item := wire.OutputItem{Type: "message", ID: newID("msg_"), Status: "in_progress", Role: "assistant"}
		st.resp.Output = append(st.resp.Output, item)
		if err := st.emit(&event{Type: "response.output_item.added", OutputIndex: ptr(st.msg), Item: &item}); err != nil {
			return err
		}
		if err := st.emit(&event{Type: "response.content_part.added", ItemID: item.ID, OutputIndex: ptr(st.msg),
			ContentIndex: ptr(0), Part: &wire.ContentPart{Type: "output_text"}}); err != nil {
			return err
		}
	}
	return nil
}

// closeMessage ends the open message item.
func (st *responseStream) closeMessage() error {
	if st.msg < 0 {
		return nil
	}
	i, text := st.msg, string(st.text)
	st.msg = -1
	item := &st.resp.Output[i]
	part := wire.ContentPart{Type: "output_text", Text: text}
	if err := st.emit(&event{Type: "response.output_text.done", ItemID: item.ID, OutputIndex: ptr(i), ContentIndex: ptr(0),
		Text: &text, Logprobs: &noLogprobs}); err != nil {
		return err
	}
	if err := st.emit(&event{Type: "response.content_part.done", ItemID: item.ID, OutputIndex: ptr(i), ContentIndex: ptr(0), Part: &part}); err != nil {
		return err
	}
	item.Status, item.Content = "completed", []wire.ContentPart{part}
	return st.emit(&event{Type: "response.output_item.done", OutputIndex: ptr(i), Item: item})
}

// toolCall emits one function call item; the chat stream sends each call
// whole, after the policy checked it.
func (st *responseStream) toolCall(tc wire.ToolCallDelta) error {
	if err := st.closeMessage(); err != nil {
		return err
	}
	i := len(st.resp.Output)
	empty, args := "", tc.Function.Arguments
	item := wire.OutputItem{Type: "function_call", ID: "fc_" + tc.ID, Status: "in_progress", CallID: tc.ID, Name: tc.Function.Name, Arguments: &empty}
	if err := st.emit(&event{Type: "response.output_item.added", OutputIndex: ptr(i), Item: &item}); err != nil {
		return err
	}
	if err := st.emit(&event{Type: "response.function_call_arguments.delta", ItemID: item.ID, OutputIndex: ptr(i), Delta: &args}); err != nil {
		return err
	}
	if err := st.emit(&event{Type: "response.function_call_arguments.done", ItemID: item.ID, OutputIndex: ptr(i), Arguments: &args, Name: item.Name}); err != nil {
		return err
	}
	item.Status, item.Arguments = "completed", &args
	st.resp.Output = append(st.resp.Output, item)
	return st.emit(&event{Type: "response.output_item.done", OutputIndex: ptr(i), Item: &item})
}

// complete closes what is open and sends response.completed (or
// response.incomplete) with the whole response and its usage.
func (st *responseStream) complete() error {
	if st.resp == nil {
		return nil // the chat stream sent nothing: its error was returned
	}
	if len(st.resp.Output) == 0 { // an empty answer is one empty message, as unstreamed
		if err := st.openMessage(); err != nil {
			return err
		}
	}
	if err := st.closeMessage(); err != nil {
		return err
	}
	st.resp.Finish(st.finish)
	typ := "response.completed"
	if st.resp.Status == "incomplete" {
		typ = "response.incomplete"
	}
	if st.store != nil {
		if err := st.store(st.resp); err != nil {
			return err
		}
	}
	return st.emit(&event{Type: typ, Response: st.resp})
}

// wantsChatReasoning reports whether a translated Responses request carries
// its reasoning settings to chat: it sets some, and the model's provider
// takes them (otherwise they are ignored, as the Responses API always did
// on the chat path).
func (s *Service) wantsChatReasoning(ctx context.Context, c *Caller, req *wire.ResponsesRequest) bool {
	if req.ReasoningEffort() == "" && (req.Text == nil || req.Text.Verbosity == "") {
		return false
	}
	return s.chatReasons(ctx, c, req.Model)
}
