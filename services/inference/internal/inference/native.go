package inference

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Native pass-through of /v1/responses (ADR 0040): for a model whose
// registry entry says responses_api native (or auto on OpenAI's API), the
// request goes to the upstream's own /responses instead of through chat.
// Everything Rampart does around a call still happens here, on the chat
// request the Responses request maps to: model and assistant resolution,
// capability and tool-policy checks of the offered tools, quota,
// retrieval (the grounded passages travel in the instructions), the
// policy filter on the function calls the model proposes, usage from the
// upstream's input_tokens/output_tokens, prompt logging and storing.

// nativeModel returns the model a Responses request for name runs on when
// that model forwards the Responses API to its upstream; nil: translate to
// chat (which also reports an unknown or forbidden model).
func (s *Service) nativeModel(ctx context.Context, c *Caller, name string) *registry.Model {
	if !s.Registry.AnyNativeResponses() {
		return nil
	}
	m, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, name)
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindNotFound {
		if _, am, aerr := s.assistant(ctx, c, name); aerr == nil && am != nil {
			m, err = am, nil
		}
	}
	if err != nil || !s.responder(m) {
		return nil
	}
	return m
}

// chatReasons reports whether the chat model a Responses request names (a
// model or an assistant) has a provider that takes reasoning settings, so
// the translated request carries them (ADR 0135 §2).
func (s *Service) chatReasons(ctx context.Context, c *Caller, name string) bool {
	m, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, name)
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindNotFound {
		if _, am, aerr := s.assistant(ctx, c, name); aerr == nil && am != nil {
			m, err = am, nil
		}
	}
	if err != nil {
		return false
	}
	p, ok := s.Providers[m.Upstream]
	return ok && p.Capabilities(m.UpstreamModel).Reasoning
}

// responder reports whether m forwards the Responses API and its provider
// can.
func (s *Service) responder(m *registry.Model) bool {
	_, ok := s.Providers[m.Upstream].(provider.Responder)
	return m.NativeResponses() && ok
}

// nativeCall is one native Responses call being prepared and run.
type nativeCall struct {
	start time.Time
	body  []byte // the client's request, as prompt-logged
	req   *wire.ResponsesRequest
	// chat is the chat request req maps to, as parsed: its tools are the
	// offered ones the policy checks calls against.
	chat *wire.ChatRequest
	r    *resolved
	g    *grounding
	// m is the model that answers (a fallback's once it took over); call
	// is the chat request it runs (grounded), native the same as the
	// upstream's Responses request.
	m      *registry.Model
	p      provider.Responder
	call   *provider.ChatCall
	native *wire.NativeRequest
}

// prepareNative resolves, checks and grounds a native Responses request.
// Errors name the Responses parameters.
func (s *Service) prepareNative(ctx context.Context, c *Caller, body []byte, req *wire.ResponsesRequest) (*nativeCall, error) {
	n := &nativeCall{start: s.now(), body: body, req: req}
	cb, err := req.ToChat()
	if err != nil {
		return nil, err
	}
	if n.chat, err = wire.ParseChat(cb); err != nil {
		return nil, responsesErr(err)
	}
	if n.r, err = s.resolve(ctx, c, n.chat); err != nil {
		return nil, responsesErr(err)
	}
	if !s.responder(n.r.m) {
		return nil, fmt.Errorf("inference: model %q does not forward the Responses API", n.r.m.ID)
	}
	if n.g, err = s.ground(ctx, c, n.r.req, nil, n.r.ret); err != nil {
		return nil, responsesErr(err)
	}
	n.use(s, n.r.m)
	return n, nil
}

// use makes m the model that answers.
func (n *nativeCall) use(s *Service, m *registry.Model) {
	n.m = m
	n.p, _ = s.Providers[m.Upstream].(provider.Responder) // s.responder(m) checked it
	n.call = n.g.call(m, s.Providers[m.Upstream])
	n.native = n.req.Native(n.call.Request)
}

// upstream is the call's provider call.
func (n *nativeCall) upstream() *provider.ResponsesCall {
	return &provider.ResponsesCall{UpstreamModel: n.m.UpstreamModel, Request: n.native}
}

// fallback switches to m's fallback when it forwards the Responses API
// too (a translating fallback would need the chat path: the error stands).
func (s *Service) nativeFallback(ctx context.Context, c *Caller, n *nativeCall, err error) bool {
	if !fallbackable(err) {
		return false
	}
	fb := s.fallback(c, n.m)
	if fb == nil || !s.responder(fb) {
		return false
	}
	s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", n.m.ID, "fallback", fb.ID, "request_id", c.RequestID)
	n.use(s, fb)
	return true
}

// nativeResponses serves a non-streamed Responses request natively.
func (s *Service) nativeResponses(ctx context.Context, c *Caller, body []byte, req *wire.ResponsesRequest) (*Output, error) {
	n, err := s.prepareNative(ctx, c, body, req)
	if err != nil {
		return nil, err
	}
	var res *wire.NativeResponse
	if n.g.noAnswer != "" {
		res, err = fixedNative(n.g.noAnswer)
	} else {
		res, err = n.p.Responses(ctx, n.upstream())
		if err != nil && s.nativeFallback(ctx, c, n, err) {
			res, err = n.p.Responses(ctx, n.upstream())
		}
	}
	if err != nil {
		s.Metrics.failed(n.m.ID, "responses", err)
		return nil, s.providerErr(ctx, c, n.m, err)
	}
	items, err := wire.NativeItems(res.Output)
	if err != nil {
		s.Metrics.failed(n.m.ID, "responses", err)
		return nil, apierr.Unavailable("The upstream model returned a malformed response.", 0)
	}
	out := &nativeOutput{}
	for _, it := range items {
		if it.Type == "function_call" && !s.allowCall(ctx, c, n, &it, out) {
			continue
		}
		out.add(it)
	}
	resp := n.response(out)
	resp.Status, resp.IncompleteDetails = res.Status, res.IncompleteDetails
	u := s.nativeUsage(n, res.Usage, out)
	resp.Usage = responsesUsage(res.Usage, u)
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	if err := s.storeResponse(ctx, c, req, resp, b); err != nil {
		return nil, err
	}
	s.finish(ctx, c, n.m, "responses", u, n.start)
	s.logPrompt(ctx, c, n.m, "responses", body, b)
	return &Output{Body: b, Headers: rateHeaders(n.r.st)}, nil
}

// fixedNative is the response when retrieval found nothing to answer
// from: a fixed message, no model asked, no tokens.
func fixedNative(text string) (*wire.NativeResponse, error) {
	b, err := json.Marshal(wire.OutputItem{Type: "message", ID: newID("msg_"), Status: "completed", Role: "assistant",
		Content: []wire.ContentPart{{Type: "output_text", Text: text}}})
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return &wire.NativeResponse{Status: "completed", Output: []json.RawMessage{b}, Usage: &wire.ResponsesUsage{}}, nil
}

// nativeOutput is the output a client gets: the upstream's items less the
// function calls the policy held back, with what the extension reports.
type nativeOutput struct {
	items []wire.OutputItem
	text  strings.Builder
	calls []wire.ToolCall
	ext   wire.Extension
	// answered: a message or a function call is among the items.
	answered bool
}

func (o *nativeOutput) add(it wire.OutputItem) {
	switch it.Type {
	case "message":
		o.text.WriteString(it.Text())
		o.answered = true
	case "function_call":
		o.calls = append(o.calls, it.Call())
		o.answered = true
	}
	o.items = append(o.items, it)
}

// allowCall checks a proposed function call against the tenant's tool
// policy (audited); a call the policy strips or holds for confirmation is
// left out of the output and named in the rampart extension.
func (s *Service) allowCall(ctx context.Context, c *Caller, n *nativeCall, it *wire.OutputItem, out *nativeOutput) bool {
	f := n.r.set.FilterCalls([]wire.ToolCall{it.Call()}, n.chat.Tools)
	s.audit(ctx, c, n.m.ID, f.Decisions)
	out.ext.RequiresConfirmation = append(out.ext.RequiresConfirmation, f.Confirm...)
	out.ext.StrippedToolCalls = append(out.ext.StrippedToolCalls, f.Stripped...)
	return len(f.Allowed) > 0
}

// emptyMessage is the answer when nothing remains of the output, as the
// translated path answers (one empty message).
func emptyMessage(status string) wire.OutputItem {
	return wire.OutputItem{Type: "message", ID: newID("msg_"), Status: status, Role: "assistant",
		Content: []wire.ContentPart{{Type: "output_text"}}}
}

// response is the response object of the call with out's items: Rampart's
// own id, the client's model name, the request's parameters echoed.
func (n *nativeCall) response(out *nativeOutput) *wire.Response {
	resp := n.req.NewResponse(newID("resp_"), n.start.Unix())
	resp.Model = n.r.name(n.m)
	if !out.answered {
		out.add(emptyMessage("completed"))
	}
	resp.Output = out.items
	out.ext.Citations = n.g.citations(nil, out.text.String())
	resp.Rampart = n.g.extension(&out.ext)
	return resp
}

// nativeUsage is the usage recorded and charged: the upstream's
// input_tokens and output_tokens, else the model tokenizer's count.
func (s *Service) nativeUsage(n *nativeCall, u *wire.ResponsesUsage, out *nativeOutput) store.Record {
	pu := provider.Usage{}
	if u != nil {
		pu = provider.Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, Reported: true}
	}
	return s.usage(n.m, n.call.Request, pu, out.text.String(), out.calls)
}

// responsesUsage is the response's usage: the upstream's object (with its
// token details) when it sent one, else the counted tokens.
func responsesUsage(up *wire.ResponsesUsage, u store.Record) *wire.ResponsesUsage {
	if up != nil {
		if up.TotalTokens == 0 {
			up.TotalTokens = up.InputTokens + up.OutputTokens
		}
		return up
	}
	return &wire.ResponsesUsage{InputTokens: int(u.PromptTokens), OutputTokens: int(u.CompletionTokens),
		TotalTokens: int(u.PromptTokens + u.CompletionTokens)}
}
