package inference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
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
	r, err := s.resolve(ctx, c, req)
	if err != nil {
		return err
	}
	m, set, st := r.m, r.set, r.st
	g, err := s.ground(ctx, c, r.req, ps, r.ret)
	if err != nil {
		return err
	}
	headers := rateHeaders(st)
	includeUsage := req.IncludeUsage()
	chunk := wire.Chunk{ID: newID("chatcmpl-"), Object: "chat.completion.chunk", Created: start.Unix(), Model: r.name(m)}
	if includeUsage {
		chunk.Usage = wire.NullRaw
	}
	sent := false
	emitChunk := func(choices []wire.ChunkChoice, ext *wire.Extension) error {
		chunk.Choices, chunk.Rampart = choices, ext
		b, err := json.Marshal(&chunk)
		if err != nil {
			return fmt.Errorf("encode chunk: %w", err)
		}
		h := headers
		if sent {
			h = nil
		}
		sent = true
		if err := send(b, h); err != nil {
			return &errSend{err}
		}
		return nil
	}
	one := func(d wire.Delta, finish *string) []wire.ChunkChoice {
		return []wire.ChunkChoice{{Delta: d, Logprobs: wire.NullRaw, FinishReason: finish}}
	}

	var content []byte
	var final *provider.Delta
	emit := func(d *provider.Delta) error {
		if !sent {
			empty := ""
			if err := emitChunk(one(wire.Delta{Role: "assistant", Content: &empty}, nil), nil); err != nil {
				return err
			}
		}
		if d.Content != "" {
			content = append(content, d.Content...)
			text := d.Content
			if err := emitChunk(one(wire.Delta{Content: &text}, nil), nil); err != nil {
				return err
			}
		}
		if d.FinishReason != "" || len(d.ToolCalls) > 0 || d.Usage != nil || len(d.Citations) > 0 {
			if final == nil {
				final = &provider.Delta{}
			}
			final.ToolCalls = append(final.ToolCalls, d.ToolCalls...)
			final.Citations = append(final.Citations, d.Citations...)
			if d.FinishReason != "" {
				final.FinishReason = d.FinishReason
			}
			if d.Usage != nil {
				final.Usage = d.Usage
			}
		}
		return nil
	}
	p := g.provider(s, m)
	call := g.call(m, p)
	err = p.Stream(ctx, call, emit)
	if err != nil && !sent && fallbackable(err) {
		if fb := s.fallback(c, m); fb != nil {
			s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", m.ID, "fallback", fb.ID, "request_id", c.RequestID)
			m = fb
			chunk.Model = r.name(fb)
			p = g.provider(s, m)
			call = g.call(m, p)
			final = nil
			err = p.Stream(ctx, call, emit)
		}
	}
	if err != nil {
		return s.streamErr(ctx, c, m, err)
	}
	if final == nil {
		final = &provider.Delta{FinishReason: "stop"}
	}
	if !sent {
		empty := ""
		if err := emitChunk(one(wire.Delta{Role: "assistant", Content: &empty}, nil), nil); err != nil {
			return s.streamErr(ctx, c, m, err)
		}
	}
	ext := &wire.Extension{Citations: g.citations(final.Citations, string(content))}
	finish := final.FinishReason
	var allowed []wire.ToolCall
	if len(final.ToolCalls) > 0 {
		f := set.FilterCalls(final.ToolCalls, req.Tools)
		s.audit(ctx, c, m.ID, f.Decisions)
		allowed, ext.RequiresConfirmation, ext.StrippedToolCalls = f.Allowed, f.Confirm, f.Stripped
		if len(allowed) == 0 && finish == "tool_calls" {
			finish = "stop"
		}
		if len(allowed) > 0 {
			deltas := make([]wire.ToolCallDelta, len(allowed))
			for i, tc := range allowed {
				deltas[i] = wire.ToolCallDelta{Index: i, ID: tc.ID, Type: "function", Function: tc.Function}
			}
			if err := emitChunk(one(wire.Delta{ToolCalls: deltas}, nil), nil); err != nil {
				return s.streamErr(ctx, c, m, err)
			}
		}
	}
	ext = g.extension(ext)
	pu := provider.Usage{}
	if final.Usage != nil {
		pu = *final.Usage
	}
	u := s.usage(m, call.Request, pu, string(content), final.ToolCalls)
	if err := emitChunk(one(wire.Delta{}, &finish), ext); err != nil {
		s.finish(ctx, c, m, "stream", u, start) // the tokens were spent
		return s.streamErr(ctx, c, m, err)
	}
	if includeUsage {
		usage, _ := json.Marshal(wire.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.PromptTokens + u.CompletionTokens)})
		chunk.Usage = usage
		if err := emitChunk([]wire.ChunkChoice{}, nil); err != nil {
			s.finish(ctx, c, m, "stream", u, start)
			return s.streamErr(ctx, c, m, err)
		}
	}
	s.finish(ctx, c, m, "stream", u, start)
	if s.Prompts.Enabled(c.Tenant) {
		wu := &wire.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.PromptTokens + u.CompletionTokens)}
		s.logPrompt(ctx, c, m, "stream", body, streamedCompletion(chunk.ID, chunk.Created, chunk.Model, string(content), allowed, finish, wu))
	}
	return nil
}

func (s *Service) streamErr(ctx context.Context, c *Caller, m *registry.Model, err error) error {
	var se *errSend
	if errors.As(err, &se) {
		s.Metrics.failed(m.ID, "stream", err)
		return se.err
	}
	s.Metrics.failed(m.ID, "stream", err)
	if _, ok := apierr.As(err); ok {
		return err
	}
	return s.providerErr(ctx, c, m, err)
}
