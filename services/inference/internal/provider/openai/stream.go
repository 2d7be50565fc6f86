package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

type upstreamChunk struct {
	Choices []struct {
		Delta struct {
			Content   *string              `json:"content"`
			ToolCalls []wire.ToolCallDelta `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wire.Usage `json:"usage"`
}

// Stream implements provider.Provider: content deltas pass through as they
// arrive; tool-call fragments are assembled and emitted whole with the
// finish reason, so the tool policy sees complete arguments.
func (p *Provider) Stream(ctx context.Context, call *provider.ChatCall, emit func(*provider.Delta) error) error {
	body, err := json.Marshal(upstreamChat{
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
		return readSSE(resp, emit)
	})
}

func readSSE(resp *http.Response, emit func(*provider.Delta) error) error {
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 16<<10), 4<<20)
	tools := map[int]*wire.ToolCall{}
	finish := ""
	var usage *provider.Usage
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event:, id:, blank separators
		}
		data = bytes.TrimSpace(data)
		if bytes.Equal(data, []byte("[DONE]")) {
			break
		}
		var ch upstreamChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return fmt.Errorf("openai: bad stream chunk: %w", err)
		}
		if ch.Usage != nil {
			usage = &provider.Usage{PromptTokens: ch.Usage.PromptTokens, CompletionTokens: ch.Usage.CompletionTokens, Reported: true}
		}
		for _, c := range ch.Choices {
			for _, td := range c.Delta.ToolCalls {
				tc := tools[td.Index]
				if tc == nil {
					tc = &wire.ToolCall{Type: "function"}
					tools[td.Index] = tc
				}
				if td.ID != "" {
					tc.ID = td.ID
				}
				tc.Function.Name += td.Function.Name
				tc.Function.Arguments += td.Function.Arguments
			}
			if c.Delta.Content != nil && *c.Delta.Content != "" {
				if err := emit(&provider.Delta{Content: *c.Delta.Content}); err != nil {
					return err
				}
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				finish = *c.FinishReason
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("openai: read stream: %w", err)
	}
	last := &provider.Delta{FinishReason: finish, Usage: usage}
	if last.FinishReason == "" {
		last.FinishReason = "stop"
	}
	if len(tools) > 0 {
		idx := make([]int, 0, len(tools))
		for i := range tools {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			last.ToolCalls = append(last.ToolCalls, *tools[i])
		}
	}
	return emit(last)
}
