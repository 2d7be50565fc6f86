package inference

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Completions serves a legacy /v1/completions request: each prompt is run
// as a one-message chat completion (same model resolution, policy, quota,
// usage and prompt logging as chat) and answered as a text_completion with
// one choice per prompt, in order.
func (s *Service) Completions(ctx context.Context, c *Caller, body []byte) (*Output, error) {
	req, err := wire.ParseCompletion(body)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return nil, apierr.Invalid("stream", "stream must be false on this call; use StreamChatCompletion")
	}
	out := wire.TextCompletion{ID: newID("cmpl-"), Object: "text_completion", Choices: make([]wire.TextChoice, 0, len(req.Prompt)), Usage: &wire.Usage{}}
	var headers map[string]string
	for i := range req.Prompt {
		cb, err := req.ToChat(i)
		if err != nil {
			return nil, err
		}
		o, err := s.Chat(ctx, c, cb, nil)
		if err != nil {
			return nil, err
		}
		var cc wire.ChatCompletion
		if err := json.Unmarshal(o.Body, &cc); err != nil || len(cc.Choices) == 0 {
			return nil, fmt.Errorf("decode chat completion: %w", err)
		}
		ch := cc.Choices[0]
		text := ""
		if ch.Message.Content != nil {
			text = *ch.Message.Content
		}
		finish := ch.FinishReason
		out.Choices = append(out.Choices, wire.TextChoice{Text: text, Index: i, Logprobs: wire.NullRaw, FinishReason: &finish})
		out.Created, out.Model, out.Rampart = cc.Created, cc.Model, mergeExt(out.Rampart, cc.Rampart)
		if cc.Usage != nil {
			addUsage(out.Usage, cc.Usage)
		}
		headers = o.Headers
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode completion: %w", err)
	}
	return &Output{Body: b, Headers: headers}, nil
}

// StreamCompletions streams a legacy completion: the chat stream of each
// prompt in turn, each chunk re-encoded as a text_completion chunk whose
// choice index is the prompt's; with stream_options.include_usage one last
// chunk carries the summed usage.
func (s *Service) StreamCompletions(ctx context.Context, c *Caller, body []byte, send Send) error {
	req, err := wire.ParseCompletion(body)
	if err != nil {
		return err
	}
	if !req.Stream {
		return apierr.Invalid("stream", "stream must be true on this call; use ChatCompletion")
	}
	out := wire.TextCompletion{ID: newID("cmpl-"), Object: "text_completion"}
	total := &wire.Usage{}
	sent := false
	for i := range req.Prompt {
		cb, err := req.ToChat(i)
		if err != nil {
			return err
		}
		err = s.Stream(ctx, c, cb, nil, func(chunk []byte, h map[string]string) error {
			var ck wire.Chunk
			if err := json.Unmarshal(chunk, &ck); err != nil {
				return fmt.Errorf("decode chunk: %w", err)
			}
			if len(ck.Choices) == 0 { // the usage chunk: summed at the end
				var u wire.Usage
				if json.Unmarshal(ck.Usage, &u) == nil {
					addUsage(total, &u)
				}
				return nil
			}
			ch := ck.Choices[0]
			text := ""
			if ch.Delta.Content != nil {
				text = *ch.Delta.Content
			}
			if text == "" && ch.FinishReason == nil && ck.Rampart == nil {
				return nil // the role chunk has no legacy equivalent
			}
			out.Created, out.Model, out.Rampart = ck.Created, ck.Model, ck.Rampart
			out.Choices = []wire.TextChoice{{Text: text, Index: i, Logprobs: wire.NullRaw, FinishReason: ch.FinishReason}}
			b, err := json.Marshal(&out)
			if err != nil {
				return fmt.Errorf("encode chunk: %w", err)
			}
			if sent {
				h = nil
			}
			sent = true
			return send(b, h)
		})
		if err != nil {
			return err
		}
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		out.Choices, out.Rampart, out.Usage = []wire.TextChoice{}, nil, total
		b, err := json.Marshal(&out)
		if err != nil {
			return fmt.Errorf("encode chunk: %w", err)
		}
		return send(b, nil)
	}
	return nil
}

func addUsage(dst, u *wire.Usage) {
	dst.PromptTokens += u.PromptTokens
	dst.CompletionTokens += u.CompletionTokens
	dst.TotalTokens += u.TotalTokens
}

// mergeExt combines the Rampart extensions of several prompts' answers.
func mergeExt(a, b *wire.Extension) *wire.Extension {
	if b.Empty() {
		return a
	}
	if a == nil {
		a = &wire.Extension{}
	}
	a.Citations = append(a.Citations, b.Citations...)
	if b.Warning != "" {
		a.Warning = b.Warning
	}
	return a
}
