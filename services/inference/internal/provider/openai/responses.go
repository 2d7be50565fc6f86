package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// responsesPath is the upstream's Responses API, under BaseURL.
const responsesPath = "/responses"

func responsesBody(call *provider.ResponsesCall, stream bool) ([]byte, error) {
	req := *call.Request
	req.Model, req.Stream, req.Store = call.UpstreamModel, stream, false
	b, err := json.Marshal(&req)
	if err != nil {
		return nil, fmt.Errorf("openai: encode request: %w", err)
	}
	return b, nil
}

// Responses implements provider.Responder: one POST to the upstream's
// /responses. A response the upstream reports as failed is an error.
func (p *Provider) Responses(ctx context.Context, call *provider.ResponsesCall) (*wire.NativeResponse, error) {
	body, err := responsesBody(call, false)
	if err != nil {
		return nil, err
	}
	var out wire.NativeResponse
	if err := p.do(ctx, responsesPath, body, func(resp *http.Response) error {
		return json.NewDecoder(resp.Body).Decode(&out)
	}); err != nil {
		return nil, err
	}
	switch out.Status {
	case "completed", "incomplete":
		return &out, nil
	case "failed":
		return nil, failedResponse(out.Error)
	default: // queued or in_progress: only background responses end so
		return nil, apierr.Unavailable("The upstream model returned an unfinished response.", 0)
	}
}

// failedResponse maps a failed response's error object ({"code","message"}).
func failedResponse(raw json.RawMessage) error {
	if len(raw) == 0 || bytes.Equal(raw, wire.NullRaw) {
		raw = []byte(`{}`)
	}
	return upstreamStreamError(raw)
}

// StreamResponses implements provider.Responder: the upstream's events are
// handed on in order; its error event, response.failed and a stream that
// ends before response.completed or response.incomplete are errors.
func (p *Provider) StreamResponses(ctx context.Context, call *provider.ResponsesCall, emit func(*provider.Event) error) error {
	body, err := responsesBody(call, true)
	if err != nil {
		return err
	}
	started := false
	return p.do(ctx, responsesPath, body, func(resp *http.Response) error {
		if started {
			return fmt.Errorf("openai: stream cannot be retried after output began")
		}
		started = true
		return readResponsesSSE(resp, emit)
	})
}

// readResponsesSSE relays an upstream Responses stream, framed by
// openai-go's SSE decoder as readSSE is; each event's data names its type.
func readResponsesSSE(resp *http.Response, emit func(*provider.Event) error) error {
	dec := ssestream.NewDecoder(resp)
	for dec.Next() {
		data := bytes.TrimSpace(dec.Event().Data)
		var ev struct {
			Type     string `json:"type"`
			Response *struct {
				Error json.RawMessage `json:"error"`
			} `json:"response"`
		}
		if err := json.Unmarshal(data, &ev); err != nil || ev.Type == "" {
			return fmt.Errorf("openai: bad responses event")
		}
		switch ev.Type {
		case "error":
			return upstreamStreamError(data)
		case "response.failed":
			if ev.Response == nil {
				return failedResponse(nil)
			}
			return failedResponse(ev.Response.Error)
		}
		if err := emit(&provider.Event{Type: ev.Type, Data: append([]byte(nil), data...)}); err != nil {
			return err
		}
		if ev.Type == "response.completed" || ev.Type == "response.incomplete" {
			return nil
		}
	}
	if err := dec.Err(); err != nil {
		return fmt.Errorf("openai: read stream: %w", err)
	}
	return errTruncated()
}
