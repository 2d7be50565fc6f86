package inference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Send delivers one encoded chunk (an SSE data payload); headers are set on
// the first call only.
type Send func(chunk []byte, headers map[string]string) error

// errSend marks an error from Send (the client went away): not a provider error.
type errSend struct{ err error }

func (e *errSend) Error() string { return e.err.Error() }
func (e *errSend) Unwrap() error { return e.err }

// Stream runs a streaming completion. Content is forwarded as it arrives;
// tool calls are checked by the policy once complete and sent in one chunk
// with the finish reason; with stream_options.include_usage a last chunk
// carries usage and empty choices. Cancelling ctx cancels the provider call.
func (s *Service) Stream(ctx context.Context, c *Caller, body []byte, ps []provider.Passage, send Send) error {
	start := s.now()
	req, err := wire.ParseChat(body)
	if err != nil {
		return err
	}
	// r and g on the stack, as Chat's (ADR 0081): neither is kept.
	var r resolved
	if err := s.resolveInto(ctx, c, req, &r); err != nil {
		return err
	}
	m := r.m
	var g grounding
	if err := s.groundInto(ctx, c, r.req, ps, r.ret, &g); err != nil {
		return err
	}
	if req.Choices() > 1 {
		return s.streamChoices(ctx, c, req, body, &r, &g, start, send)
	}
	// One heap object for the writer, what was streamed and the
	// extension, which the emit closure and the chunks reach (ADR 0122).
	run := &streamRun{w: chunkWriter{send: send, headers: rateHeaders(r.st),
		chunk: wire.Chunk{ID: newID("chatcmpl-"), Object: "chat.completion.chunk", Created: start.Unix(), Model: r.name(m)}}}
	w, got := &run.w, &run.got
	includeUsage := req.IncludeUsage()
	if includeUsage {
		w.chunk.Usage = wire.NullRaw
	}
	emit := func(d *provider.Delta) error { return got.forward(w, d) }
	p := g.provider(s, m)
	call := g.call(m, p)
	err = p.Stream(ctx, call, emit)
	if err != nil && !w.sent && fallbackable(err) {
		if fb := s.fallback(c, m); fb != nil {
			s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", m.ID, "fallback", fb.ID, "request_id", c.RequestID)
			m = fb
			w.chunk.Model = r.name(fb)
			p = g.provider(s, m)
			call = g.call(m, p)
			got.final = nil
			err = p.Stream(ctx, call, emit)
		}
	}
	if err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	if got.final == nil {
		got.final = &provider.Delta{FinishReason: "stop"}
	}
	if err := w.start(); err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	// The streamed text as a string, once (it was converted for the
	// citations and again for the usage).
	content := string(got.content)
	ext := &run.ext
	ext.Citations = g.citations(got.final.Citations, content)
	allowed, finish, err := s.streamToolCalls(ctx, c, m, r.set, req, got.final, ext, w)
	if err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	ext = g.extension(ext)
	pu := provider.Usage{}
	if got.final.Usage != nil {
		pu = *got.final.Usage
	}
	u := s.usage(m, call.Request, pu, content, got.final.ToolCalls)
	if err := w.finish(finish, ext, includeUsage, u, &pu); err != nil {
		s.finish(ctx, c, m, "stream", u, start) // the tokens were spent
		return s.streamErr(ctx, c, m, err)
	}
	s.finish(ctx, c, m, "stream", u, start)
	if s.Prompts.Enabled(c.Tenant) {
		wu := streamUsage(u, &pu)
		s.logPrompt(ctx, c, m, "stream", body, streamedCompletion(w.chunk.ID, w.chunk.Created, w.chunk.Model, content, allowed, finish, wu))
	}
	return nil
}

// streamRun is what one streamed completion keeps on the heap.
type streamRun struct {
	w   chunkWriter
	got streamed
	ext wire.Extension
}

// chunkWriter encodes and sends the chunks of one streamed completion; the
// rate-limit headers go with the first.
type chunkWriter struct {
	chunk   wire.Chunk
	headers map[string]string
	send    Send
	sent    bool
	// enc writes the chunks; their head repeats (ADR 0099).
	enc wire.ChunkEncoder
	// one, text and reason back the choice, content and finish reason of
	// the chunk being sent (delta): a chunk is encoded before the next is
	// built, so they are reused instead of allocated per chunk (issue 15,
	// ADR 0122).
	one    [1]wire.ChunkChoice
	text   string
	reason string
}

// emit sends one chunk with choices and the rampart extension.
func (w *chunkWriter) emit(choices []wire.ChunkChoice, ext *wire.Extension) error {
	w.chunk.Choices, w.chunk.Rampart = choices, ext
	b, err := w.enc.Encode(&w.chunk)
	if err != nil {
		return fmt.Errorf("encode chunk: %w", err)
	}
	h := w.headers
	if w.sent {
		h = nil
	}
	w.sent = true
	if err := w.send(b, h); err != nil {
		return &errSend{err}
	}
	return nil
}

// delta sends a chunk with one choice.
func (w *chunkWriter) delta(d wire.Delta, finish *string, ext *wire.Extension) error {
	w.one[0] = wire.ChunkChoice{Delta: d, Logprobs: wire.NullRaw, FinishReason: finish}
	return w.emit(w.one[:], ext)
}

// deltaAt sends a chunk with choice i and its logprobs (nil: null; ADR
// 0120).
func (w *chunkWriter) deltaAt(i int, d wire.Delta, logprobs []byte, finish *string, ext *wire.Extension) error {
	w.one[0] = wire.ChunkChoice{Index: i, Delta: d, Logprobs: wire.NullRaw, FinishReason: finish}
	if logprobs != nil {
		w.one[0].Logprobs = logprobs
	}
	return w.emit(w.one[:], ext)
}

// content sends a chunk with one choice whose delta is text.
func (w *chunkWriter) content(text string) error {
	w.text = text
	return w.delta(wire.Delta{Content: &w.text}, nil, nil)
}

// start sends the assistant's empty first chunk unless a chunk went out.
func (w *chunkWriter) start() error {
	if w.sent {
		return nil
	}
	w.text = "" // the empty content, in w: no heap string per stream
	return w.delta(wire.Delta{Role: "assistant", Content: &w.text}, nil, nil)
}

// finish sends the chunk with the finish reason and, with include_usage,
// the usage chunk with empty choices: u's counts and pu's details.
func (w *chunkWriter) finish(reason string, ext *wire.Extension, includeUsage bool, u store.Record, pu *provider.Usage) error {
	w.reason = reason
	if err := w.delta(wire.Delta{}, &w.reason, ext); err != nil {
		return err
	}
	return w.usageChunk(includeUsage, u, pu)
}

// usageChunk sends, with include_usage, the stream's last chunk: empty
// choices and u's counts with pu's details.
func (w *chunkWriter) usageChunk(includeUsage bool, u store.Record, pu *provider.Usage) error {
	if !includeUsage {
		return nil
	}
	usage, _ := json.Marshal(streamUsage(u, pu))
	w.chunk.Usage = usage
	return w.emit([]wire.ChunkChoice{}, nil)
}

// streamUsage is a stream's usage as the wire's: u's counts and the
// details the provider sent (ADR 0117).
func streamUsage(u store.Record, pu *provider.Usage) *wire.Usage {
	return &wire.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.PromptTokens + u.CompletionTokens),
		PromptTokensDetails: pu.PromptDetails, CompletionTokensDetails: pu.CompletionDetails}
}

// streamed is what the provider streamed: the content, and in final the
// tool calls, citations, finish reason and usage of every delta.
type streamed struct {
	content []byte
	final   *provider.Delta
}

// forward sends a delta's content on as it arrives and keeps the rest for
// the end.
func (st *streamed) forward(w *chunkWriter, d *provider.Delta) error {
	if err := w.start(); err != nil {
		return err
	}
	if d.Content != "" || d.Logprobs != nil {
		st.content = append(st.content, d.Content...)
		if d.Logprobs != nil {
			w.text = d.Content
			if err := w.deltaAt(0, wire.Delta{Content: &w.text}, d.Logprobs, nil, nil); err != nil {
				return err
			}
		} else if err := w.content(d.Content); err != nil {
			return err
		}
	}
	if d.FinishReason == "" && len(d.ToolCalls) == 0 && d.Usage == nil && len(d.Citations) == 0 {
		return nil
	}
	if st.final == nil {
		st.final = &provider.Delta{}
	}
	st.final.ToolCalls = append(st.final.ToolCalls, d.ToolCalls...)
	st.final.Citations = append(st.final.Citations, d.Citations...)
	if d.FinishReason != "" {
		st.final.FinishReason = d.FinishReason
	}
	if d.Usage != nil {
		st.final.Usage = d.Usage
	}
	return nil
}

// streamToolCalls checks the finished tool calls against the policy (the
// decisions are audited, ext names the held and stripped ones) and sends
// the allowed ones in one chunk. The finish reason becomes "stop" when
// every call was held back.
func (s *Service) streamToolCalls(ctx context.Context, c *Caller, m *registry.Model, set *toolpolicy.Set, req *wire.ChatRequest,
	final *provider.Delta, ext *wire.Extension, w *chunkWriter) ([]wire.ToolCall, string, error) {
	finish := final.FinishReason
	if len(final.ToolCalls) == 0 {
		return nil, finish, nil
	}
	f := set.FilterCalls(final.ToolCalls, req.Tools)
	s.audit(ctx, c, m.ID, f.Decisions)
	allowed := f.Allowed
	ext.RequiresConfirmation, ext.StrippedToolCalls = f.Confirm, f.Stripped
	if len(allowed) == 0 {
		if finish == "tool_calls" {
			finish = "stop"
		}
		return allowed, finish, nil
	}
	deltas := make([]wire.ToolCallDelta, len(allowed))
	for i, tc := range allowed {
		deltas[i] = wire.ToolCallDelta{Index: i, ID: tc.ID, Type: "function", Function: tc.Function}
	}
	return allowed, finish, w.delta(wire.Delta{ToolCalls: deltas}, nil, nil)
}

func (s *Service) streamErr(ctx context.Context, c *Caller, m *registry.Model, err error) error {
	var se *errSend
	if errors.As(err, &se) {
		s.Metrics.failed(m.ID, "stream", err)
		return se.err
	}
	s.Metrics.failed(m.ID, "stream", err)
	return s.providerErr(ctx, c, m, err)
}
