package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Several choices (n > 1, ADR 0120 §1). An upstream that generates them
// in one call (provider.Capabilities.Choices: OpenAI-compatible ones) gets
// the request's n; any other model answers n times, the calls made at
// once. Either way the usage is every choice's, charged to the key's and
// tenant's quotas and tokens per minute as n completions (a fanned-out
// request's prompt is counted once per call, as each call read it). This
// path is apart from Chat's and Stream's: a request without n pays
// nothing for it.

// choices runs a completion of n choices: one call that asks for n, or
// n calls. native reports the first: its first result's usage counts
// every choice.
func (s *Service) choices(ctx context.Context, g *grounding, m *registry.Model, n int) (res []provider.ChatResult, call *provider.ChatCall, native bool, err error) {
	p := g.provider(s, m)
	call = g.call(m, p)
	if p.Capabilities(m.UpstreamModel).Choices {
		r, err := p.Chat(ctx, call)
		if err != nil {
			return nil, call, true, err
		}
		all := append([]provider.ChatResult{*r}, r.More...)
		if len(all) < n {
			return nil, call, true, apierr.Unavailable(fmt.Sprintf("The upstream model returned %d of the %d choices asked for.", len(all), n), 0)
		}
		return all[:n], call, true, nil
	}
	call = single(call)
	res = make([]provider.ChatResult, n)
	eg, ectx := errgroup.WithContext(ctx)
	for i := range n {
		eg.Go(func() error {
			r, err := p.Chat(ectx, call)
			if err != nil {
				return err
			}
			res[i] = *r
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, call, false, err
	}
	return res, call, false, nil
}

// single is call for one of n calls: its request without n.
func single(call *provider.ChatCall) *provider.ChatCall {
	one := *call
	req := *call.Request
	req.N = nil
	one.Request = &req
	return &one
}

// chatChoices is Chat for n > 1: r and g are the resolved request and its
// grounding.
func (s *Service) chatChoices(ctx context.Context, c *Caller, req *wire.ChatRequest, body []byte, r *resolved, g *grounding, start time.Time) (*Output, error) {
	m, n := r.m, req.Choices()
	res, call, native, err := s.choices(ctx, g, m, n)
	if err != nil && fallbackable(err) {
		if fb := s.fallback(c, m); fb != nil {
			s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", m.ID, "fallback", fb.ID, "request_id", c.RequestID)
			m = fb
			res, call, native, err = s.choices(ctx, g, m, n)
		}
	}
	if err != nil {
		s.Metrics.failed(m.ID, "chat", err)
		return nil, s.providerErr(ctx, c, m, err)
	}
	out := &wire.ChatCompletion{ID: newID("chatcmpl-"), Object: "chat.completion", Created: start.Unix(), Model: r.name(m),
		Choices: make([]wire.Choice, n)}
	ext := wire.Extension{}
	for i := range res {
		calls, finish := s.filterChoiceCalls(ctx, c, m, r, req, res[i].ToolCalls, res[i].FinishReason, &ext)
		ext.Citations = mergeCitations(ext.Citations, g.citations(res[i].Citations, res[i].Content))
		ch := wire.Choice{Index: i, Message: wire.ResponseMessage{Role: "assistant", ToolCalls: calls}, Logprobs: logprobs(res[i].Logprobs), FinishReason: finish}
		if res[i].HasContent || len(calls) == 0 {
			content := res[i].Content
			ch.Message.Content = &content
		}
		out.Choices[i] = ch
	}
	u, pu := s.choicesUsage(m, call.Request, res, native)
	out.Usage = streamUsage(u, &pu)
	if e := g.extension(&ext); e != nil {
		out.Rampart = e
	}
	b, err := wire.EncodeCompletion(out)
	if err != nil {
		return nil, fmt.Errorf("encode completion: %w", err)
	}
	s.finish(ctx, c, m, "chat", u, start)
	s.logPrompt(ctx, c, m, "chat", body, b)
	return &Output{Body: b, Headers: rateHeaders(r.st)}, nil
}

// filterChoiceCalls runs one choice's tool calls through the policy:
// the allowed ones and the finish reason ("stop" when every call was held
// back); the held and stripped ones join ext.
func (s *Service) filterChoiceCalls(ctx context.Context, c *Caller, m *registry.Model, r *resolved, req *wire.ChatRequest,
	calls []wire.ToolCall, finish string, ext *wire.Extension) ([]wire.ToolCall, string) {
	if len(calls) == 0 {
		return calls, finish
	}
	f := r.set.FilterCalls(calls, req.Tools)
	s.audit(ctx, c, m.ID, f.Decisions)
	ext.RequiresConfirmation = append(ext.RequiresConfirmation, f.Confirm...)
	ext.StrippedToolCalls = append(ext.StrippedToolCalls, f.Stripped...)
	if len(f.Allowed) == 0 && finish == "tool_calls" {
		finish = "stop"
	}
	return f.Allowed, finish
}

// choicesUsage is the usage of n choices: a native call's own (its
// completion counted choice by choice when the upstream sent none), or
// the sum of n calls'. pu carries the upstream's details.
func (s *Service) choicesUsage(m *registry.Model, req *wire.ChatRequest, res []provider.ChatResult, native bool) (store.Record, provider.Usage) {
	var u store.Record
	var pu provider.Usage
	for i := range res {
		if native && i > 0 && res[0].Usage.Reported {
			break
		}
		r := s.usage(m, req, res[i].Usage, res[i].Content, res[i].ToolCalls)
		if native && i > 0 {
			r.PromptTokens = 0 // the one call read the prompt once
		}
		u.PromptTokens += r.PromptTokens
		u.CompletionTokens += r.CompletionTokens
		u.Estimated = u.Estimated || r.Estimated
		pu.Add(res[i].Usage)
	}
	return u, pu
}

// mergeCitations adds more to cs, each document once (by its number).
func mergeCitations(cs, more []wire.Citation) []wire.Citation {
	for _, c := range more {
		if !slices.ContainsFunc(cs, func(x wire.Citation) bool { return x.Index == c.Index }) {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b wire.Citation) int { return a.Index - b.Index })
	return cs
}

// logprobs is a choice's logprobs on the wire: the upstream's, else null.
func logprobs(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return wire.NullRaw
	}
	return raw
}

// streamChoices is Stream for n > 1: the choices' deltas go out as they
// arrive, each chunk naming its choice's index; at the end each choice's
// tool calls (after the policy) and finish reason, then with
// include_usage the usage of them all.
func (s *Service) streamChoices(ctx context.Context, c *Caller, req *wire.ChatRequest, body []byte, r *resolved, g *grounding, start time.Time, send Send) error {
	m, n := r.m, req.Choices()
	includeUsage := req.IncludeUsage()
	w := &chunkWriter{send: send, headers: rateHeaders(r.st),
		chunk: wire.Chunk{ID: newID("chatcmpl-"), Object: "chat.completion.chunk", Created: start.Unix(), Model: r.name(m)}}
	if includeUsage {
		w.chunk.Usage = wire.NullRaw
	}
	got := &streamedChoices{w: w, choices: make([]streamedChoice, n)}
	p := g.provider(s, m)
	call := g.call(m, p)
	err := s.streams(ctx, p, m, call, n, got.forward)
	if err != nil && !w.sent && fallbackable(err) {
		if fb := s.fallback(c, m); fb != nil {
			s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", m.ID, "fallback", fb.ID, "request_id", c.RequestID)
			m = fb
			w.chunk.Model = r.name(fb)
			p = g.provider(s, m)
			call = g.call(m, p)
			got.choices, got.usage = make([]streamedChoice, n), provider.Usage{}
			err = s.streams(ctx, p, m, call, n, got.forward)
		}
	}
	if err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	if err := got.start(); err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	native := p.Capabilities(m.UpstreamModel).Choices
	if !native {
		call = single(call)
	}
	ext := &wire.Extension{}
	res := make([]provider.ChatResult, n)
	finishes := make([]string, n)
	for i := range got.choices {
		ch := &got.choices[i]
		finish := ch.finish
		if finish == "" {
			finish = "stop"
		}
		ext.Citations = mergeCitations(ext.Citations, g.citations(ch.citations, string(ch.content)))
		allowed, finish := s.filterChoiceCalls(ctx, c, m, r, req, ch.calls, finish, ext)
		if len(allowed) > 0 {
			deltas := make([]wire.ToolCallDelta, len(allowed))
			for j, tc := range allowed {
				deltas[j] = wire.ToolCallDelta{Index: j, ID: tc.ID, Type: "function", Function: tc.Function}
			}
			if err := w.deltaAt(i, wire.Delta{ToolCalls: deltas}, nil, nil, nil); err != nil {
				return s.streamErr(ctx, c, m, err)
			}
		}
		finishes[i] = finish
		res[i] = provider.ChatResult{Content: string(ch.content), HasContent: len(ch.content) > 0 || len(allowed) == 0, ToolCalls: allowed, FinishReason: finish}
		// the usage the calls reported, on the first (choicesUsage sums a
		// fan-out's per call; the sum counts for them all)
		if i == 0 {
			res[i].Usage = got.usage
		}
	}
	if !native && got.usage.Reported {
		native = true // one usage for all: already summed
	}
	u, pu := s.choicesUsage(m, call.Request, res, native)
	if err := w.finishChoices(finishes, g.extension(ext), includeUsage, u, &pu); err != nil {
		s.finish(ctx, c, m, "stream", u, start) // the tokens were spent
		return s.streamErr(ctx, c, m, err)
	}
	s.finish(ctx, c, m, "stream", u, start)
	if s.Prompts.Enabled(c.Tenant) {
		s.logPrompt(ctx, c, m, "stream", body, streamedChoicesCompletion(&w.chunk, res, finishes, streamUsage(u, &pu)))
	}
	return nil
}

// streamedChoicesCompletion is the assembled completion of a stream of
// several choices, as logged.
func streamedChoicesCompletion(ch *wire.Chunk, res []provider.ChatResult, finishes []string, u *wire.Usage) []byte {
	out := &wire.ChatCompletion{ID: ch.ID, Object: "chat.completion", Created: ch.Created, Model: ch.Model, Usage: u}
	for i := range res {
		msg := wire.ResponseMessage{Role: "assistant", ToolCalls: res[i].ToolCalls}
		if res[i].HasContent {
			msg.Content = &res[i].Content
		}
		out.Choices = append(out.Choices, wire.Choice{Index: i, Message: msg, Logprobs: wire.NullRaw, FinishReason: finishes[i]})
	}
	b, _ := json.Marshal(out)
	return b
}

// finishChoices sends each choice's finish chunk (the rampart extension
// with the last) and, with include_usage, the usage chunk.
func (w *chunkWriter) finishChoices(finishes []string, ext *wire.Extension, includeUsage bool, u store.Record, pu *provider.Usage) error {
	for i, f := range finishes {
		var e *wire.Extension
		if i == len(finishes)-1 {
			e = ext
		}
		if err := w.deltaAt(i, wire.Delta{}, nil, &f, e); err != nil {
			return err
		}
	}
	return w.usageChunk(includeUsage, u, pu)
}

// streams runs the streams of n choices, calling emit for each delta with
// its choice's index, one call at a time: one stream that asks for n, or
// n streams at once (the first error cancels the others).
func (s *Service) streams(ctx context.Context, p provider.Provider, m *registry.Model, call *provider.ChatCall, n int, emit func(*provider.Delta) error) error {
	if p.Capabilities(m.UpstreamModel).Choices {
		return p.Stream(ctx, call, emit)
	}
	call = single(call)
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	for i := range n {
		eg.Go(func() error {
			return p.Stream(ectx, call, func(d *provider.Delta) error {
				dd := *d
				dd.Index = i
				mu.Lock()
				defer mu.Unlock()
				return emit(&dd)
			})
		})
	}
	return eg.Wait()
}

// streamedChoices is what the streams of n choices sent so far.
type streamedChoices struct {
	w       *chunkWriter
	choices []streamedChoice
	usage   provider.Usage
	started bool
}

// streamedChoice is one choice's content, and the tool calls, citations
// and finish reason its deltas carried.
type streamedChoice struct {
	content   []byte
	calls     []wire.ToolCall
	citations []wire.Citation
	finish    string
}

// start sends the first chunk, each choice's assistant role, unless a
// chunk went out.
func (st *streamedChoices) start() error {
	if st.started || st.w.sent {
		return nil
	}
	st.started = true
	choices := make([]wire.ChunkChoice, len(st.choices))
	for i := range choices {
		empty := ""
		choices[i] = wire.ChunkChoice{Index: i, Delta: wire.Delta{Role: "assistant", Content: &empty}, Logprobs: wire.NullRaw}
	}
	return st.w.emit(choices, nil)
}

// forward sends a delta's content (and logprobs) on as it arrives and
// keeps the rest for the end; a delta of a choice not asked for is
// dropped.
func (st *streamedChoices) forward(d *provider.Delta) error {
	if err := st.start(); err != nil {
		return err
	}
	if d.Index < 0 || d.Index >= len(st.choices) {
		return nil
	}
	ch := &st.choices[d.Index]
	if d.Content != "" || d.Logprobs != nil {
		ch.content = append(ch.content, d.Content...)
		text := d.Content
		if err := st.w.deltaAt(d.Index, wire.Delta{Content: &text}, d.Logprobs, nil, nil); err != nil {
			return err
		}
	}
	ch.calls = append(ch.calls, d.ToolCalls...)
	ch.citations = append(ch.citations, d.Citations...)
	if d.FinishReason != "" {
		ch.finish = d.FinishReason
	}
	if d.Usage != nil {
		st.usage.Add(*d.Usage)
	}
	return nil
}
