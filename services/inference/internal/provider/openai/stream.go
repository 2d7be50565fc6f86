package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

type upstreamChunk struct {
	// Error is set on an error event: OpenAI and compatible servers
	// (vLLM, LiteLLM) report a failure after the stream began as
	// data: {"error": {...}}.
	Error   json.RawMessage       `json:"error"`
	Choices []upstreamChunkChoice `json:"choices"`
	Usage   *wire.Usage           `json:"usage"`
}

type upstreamChunkChoice struct {
	Index        int             `json:"index"`
	Delta        upstreamDelta   `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

type upstreamDelta struct {
	Content   *string              `json:"content"`
	ToolCalls []wire.ToolCallDelta `json:"tool_calls"`
}

// Stream implements provider.Provider: an empty delta as soon as the
// upstream accepted the stream, then content deltas as they arrive;
// tool-call fragments are assembled and emitted whole with the finish
// reason, so the tool policy sees complete arguments.
func (p *Provider) Stream(ctx context.Context, call *provider.ChatCall, emit func(*provider.Delta) error) error {
	body, err := encodeUpstream(upstreamChat{
		ChatRequest:   forwarded(call.Request),
		Model:         call.UpstreamModel,
		Stream:        true,
		StreamOptions: &wire.StreamOptions{IncludeUsage: true},
	})
	if err != nil {
		return fmt.Errorf("openai: encode request: %w", err)
	}
	started := false
	return p.do(ctx, "/chat/completions", body, func(resp *http.Response) error {
		if started {
			return fmt.Errorf("openai: stream cannot be retried after output began")
		}
		started = true
		if accepted(resp) {
			// The upstream took the stream: the client's stream starts now
			// (ADR 0080). An empty delta tells the service so; it sends the
			// role chunk, which the edge writes with the 200 and the SSE
			// headers, instead of waiting for the first content.
			if err := emit(&provider.Delta{}); err != nil {
				return err
			}
		}
		return readSSE(resp, emit)
	})
}

// accepted reports whether a 2xx answer is the event stream asked for
// (OpenAI answers "text/event-stream; charset=utf-8"). Anything else is
// left to readSSE, whose first event or error then decides, as before.
func accepted(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// errTruncated: the upstream closed the stream without its final
// "data: [DONE]", so the answer may be cut short. It must reach the client
// as an error, never as an ordinary finish.
func errTruncated() error {
	return apierr.Unavailable("The upstream model's stream ended before it was complete; the answer may be cut short. Retry the request.", 0)
}

// readSSE relays an upstream OpenAI stream. Only a stream that ends with
// "data: [DONE]" ends normally; an error event or an early end is an error,
// and then no finish reason is emitted.
//
// The events are framed as openai-go's SSE decoder frames them (ADR 0048,
// sseReader since ADR 0122): the body is read as the bytes arrive and each
// event handed over at its blank line, so nothing waits for more of the
// stream.
func readSSE(resp *http.Response, emit func(*provider.Delta) error) error {
	dec := newSSEReader(resp.Body)
	defer dec.close()
	var st streamState
	for dec.next() {
		ev := dec.event()
		data := bytes.TrimSpace(ev.Data)
		if ev.Type == "error" {
			return upstreamStreamError(data)
		}
		if bytes.Equal(data, []byte("[DONE]")) {
			if len(st.others) == 0 {
				return emit(st.last())
			}
			for _, d := range st.finals() {
				if err := emit(d); err != nil {
					return err
				}
			}
			return nil
		}
		if err := st.chunk(data, emit); err != nil {
			return err
		}
	}
	if err := dec.readErr(); err != nil {
		return fmt.Errorf("openai: read stream: %w", err)
	}
	return errTruncated()
}

// streamState is what a stream carries to its end: the tool calls being
// assembled from their fragments, the finish reason and the usage.
type streamState struct {
	tools  map[int]*wire.ToolCall // made at the first fragment
	finish string
	usage  *provider.Usage
	// others are the tool calls and finish reasons of choices 1..n-1
	// when the request asked for n > 1 (ADR 0120 §1), made at the first
	// chunk of such a choice.
	others map[int]*choiceState
	// choices is the chunks' choices' backing array and delta the content
	// delta emitted, one of each per stream instead of per chunk (emit
	// does not keep the delta; issue 15, ADR 0099).
	choices []upstreamChunkChoice
	delta   provider.Delta
}

// chunk takes one data event: content passes through at once, tool-call
// fragments and the finish reason and usage are kept for the end.
func (st *streamState) chunk(data []byte, emit func(*provider.Delta) error) error {
	ch := upstreamChunk{Choices: st.choices[:0]}
	if err := decodeChunk(data, &ch); err != nil {
		return fmt.Errorf("openai: bad stream chunk: %w", err)
	}
	if cap(ch.Choices) > cap(st.choices) {
		st.choices = ch.Choices
	}
	if len(ch.Error) > 0 && !bytes.Equal(ch.Error, []byte("null")) {
		return upstreamStreamError(ch.Error)
	}
	if ch.Usage != nil {
		st.usage = &provider.Usage{PromptTokens: ch.Usage.PromptTokens, CompletionTokens: ch.Usage.CompletionTokens, Reported: true,
			PromptDetails: ch.Usage.PromptTokensDetails, CompletionDetails: ch.Usage.CompletionTokensDetails}
	}
	for i := range ch.Choices {
		c := &ch.Choices[i]
		tools, finish := &st.tools, &st.finish
		if c.Index != 0 {
			o := st.other(c.Index)
			tools, finish = &o.tools, &o.finish
		}
		for _, td := range c.Delta.ToolCalls {
			tc := (*tools)[td.Index]
			if tc == nil {
				if *tools == nil {
					*tools = map[int]*wire.ToolCall{}
				}
				tc = &wire.ToolCall{Type: "function"}
				(*tools)[td.Index] = tc
			}
			if td.ID != "" {
				tc.ID = td.ID
			}
			tc.Function.Name += td.Function.Name
			tc.Function.Arguments += td.Function.Arguments
		}
		content := c.Delta.Content != nil && *c.Delta.Content != ""
		logprobs := len(c.Logprobs) > 0 && !bytes.Equal(c.Logprobs, nullRaw)
		if content || logprobs {
			st.delta = provider.Delta{Index: c.Index}
			if content {
				st.delta.Content = *c.Delta.Content
			}
			if logprobs {
				st.delta.Logprobs = c.Logprobs
			}
			if err := emit(&st.delta); err != nil {
				return err
			}
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			*finish = *c.FinishReason
		}
	}
	return nil
}

// choiceState is what a stream carries to its end for one choice
// besides the first.
type choiceState struct {
	tools  map[int]*wire.ToolCall
	finish string
}

// other is choice i's state, made at its first chunk.
func (st *streamState) other(i int) *choiceState {
	if st.others == nil {
		st.others = map[int]*choiceState{}
	}
	o := st.others[i]
	if o == nil {
		o = &choiceState{}
		st.others[i] = o
	}
	return o
}

// finals are the final deltas of a stream of n > 1 choices: choice 0's
// (last) and then each other choice's in index order, the usage on the
// last of them.
func (st *streamState) finals() []*provider.Delta {
	usage := st.usage
	st.usage = nil
	out := []*provider.Delta{st.last()}
	idx := make([]int, 0, len(st.others))
	for i := range st.others {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		o := st.others[i]
		d := (&streamState{tools: o.tools, finish: o.finish}).last()
		d.Index = i
		out = append(out, d)
	}
	out[len(out)-1].Usage = usage
	return out
}

// last is the final delta: the finish reason ("stop" when the upstream
// sent none), the usage and the whole tool calls in index order.
func (st *streamState) last() *provider.Delta {
	last := &provider.Delta{FinishReason: st.finish, Usage: st.usage}
	if last.FinishReason == "" {
		last.FinishReason = "stop"
	}
	if len(st.tools) > 0 {
		idx := make([]int, 0, len(st.tools))
		for i := range st.tools {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			last.ToolCalls = append(last.ToolCalls, *st.tools[i])
		}
	}
	return last
}

// errorCode matches the identifiers OpenAI uses as error codes and types.
var errorCode = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// upstreamStreamError maps an upstream error event. Its message stays
// inside (it can name the upstream account, organization or quota); its
// code (or type), when it is a plain identifier such as
// context_length_exceeded, is passed on so the client can tell failures
// apart.
func upstreamStreamError(raw []byte) error {
	var e struct {
		Error *struct {
			Code json.RawMessage `json:"code"`
			Type string          `json:"type"`
		} `json:"error"`
		Code json.RawMessage `json:"code"`
		Type string          `json:"type"`
	}
	_ = json.Unmarshal(raw, &e) // an undecodable event is still an error
	code, typ := e.Code, e.Type
	if e.Error != nil {
		code, typ = e.Error.Code, e.Error.Type
	}
	var c string
	if json.Unmarshal(code, &c) != nil || !errorCode.MatchString(c) {
		c = typ
	}
	msg := "The upstream model reported an error during the stream; the answer is incomplete."
	if errorCode.MatchString(c) {
		msg = "The upstream model reported an error during the stream (" + c + "); the answer is incomplete."
	}
	return apierr.Unavailable(msg, 0)
}
