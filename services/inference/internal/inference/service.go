package inference

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rampart-platform/rampart/pkg/ttlcache"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/quota"
	"github.com/rampart-platform/rampart/services/inference/internal/rag"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
	"github.com/rampart-platform/rampart/services/inference/internal/tokenizer"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Caller is whom a call acts for, taken from the verified principal.
type Caller struct {
	Tenant, Key, Subject string
	AllowedModels        []string
	// TenantAllowedModels is the platform's ceiling on the tenant's models
	// (ADR 0058; empty: none): an assistant runs only on a model within it.
	TenantAllowedModels []string
	Limits              quota.Limits
	RequestID           string
	// CanSearch: the key holds ingest:read, so it may name collections in
	// rampart.collections itself. Without it a key only reaches documents
	// through an assistant the tenant's admins bound to collections.
	CanSearch bool
	// continued is what the stored response this call continues
	// (previous_response_id) needed of a reader, set by prepareStored: its
	// conversation is in this call's input, so the call's prompt log entry
	// needs it too. nil: no previous response, or one stored before ADR 0088.
	continued *promptlog.ReaderNeeds
}

func (c *Caller) subject() quota.Subject { return quota.Subject{Tenant: c.Tenant, Key: c.Key} }

// Output is an encoded response plus the HTTP headers the edge should set.
type Output struct {
	Body    []byte
	Headers map[string]string
}

// Deps are the service's collaborators.
type Deps struct {
	Registry  *registry.Registry
	Providers map[string]provider.Provider // by upstream name; "local" included
	Quota     *quota.Enforcer
	Tools     *toolpolicy.Policy
	Store     *store.Store
	Recorder  *store.Recorder
	Metrics   *Metrics
	Log       *slog.Logger
	// PromptLog stores prompts and responses of tenants that turned it on
	// (nil: prompt logging is off for everyone).
	Prompts *promptlog.Logger
	// Stored keeps Responses API responses created with "store": true,
	// sealed with the tenant's data key (nil: no keyvault, "store": true is
	// refused).
	Stored *promptlog.Responses
	// Keys are the tenants' data keys (the same as Prompts' and Stored's),
	// which seal assistants' system prompts (nil: no keyvault, an assistant
	// cannot have a system prompt).
	Keys *promptlog.Logger
	// Retriever searches the tenant's collections for requests with
	// rampart.collections (nil: such requests are answered without
	// documents and carry rampart.warning).
	Retriever *rag.Retriever
	// AuthLimits reads a tenant's limits from auth for EmbedForTenant (ADR
	// 0106 §2); nil: only those seen on principals and carried (ADR 0095
	// §4), as in tests without auth.
	AuthLimits AuthLimitsFunc
	// AuthLimitsTTL is how long one of auth's answers is used (0:
	// DefaultAuthLimitsTTL).
	AuthLimitsTTL time.Duration
}

// Service runs completions and embeddings.
type Service struct {
	Deps
	now      func() time.Time
	counters sync.Map // model id → tokenizer.Counter
	// seenCache: tenant → its tenant-wide limits and model ceiling as last
	// seen on a verified principal (NoteTenantLimits), for EmbedForTenant;
	// bounded and forgotten SeenLimitsTTL after the tenant's last call.
	seenCache *ttlcache.Cache[string, seenLimits]
	// authCache holds auth's answers per tenant (AuthLimits), authFlight
	// makes one call per tenant at a time.
	authCache  *ttlcache.Cache[string, TenantLimits]
	authFlight singleflight.Group
}

// New returns a service.
func New(d Deps) (*Service, error) {
	for _, up := range d.Registry.Upstreams() {
		if d.Providers[up] == nil {
			return nil, fmt.Errorf("inference: no provider for upstream %q", up)
		}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	return &Service{Deps: d, now: time.Now, authCache: newAuthCache(), seenCache: newSeenCache()}, nil
}

// newID is prefix plus 128 random bits from crypto/rand in base 62. A
// stored response is readable by any chat key of its tenant that presents
// its id (as in OpenAI's API), so the id must not be guessable: math/rand's
// generator is not documented as unpredictable.
func newID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails on Linux (Go 1.24+: it panics rather than return an error)
	// Built on the stack: one allocation, the string (issue 15).
	var buf [48]byte
	b := append(buf[:0], prefix...)
	for i := range 2 {
		x := binary.LittleEndian.Uint64(raw[8*i:])
		for range 12 {
			b = append(b, alphabet[x%62])
			x /= 62
		}
	}
	return string(b)
}

// resolved is a chat request's model and policy.
type resolved struct {
	m   *registry.Model
	set *toolpolicy.Set
	st  quota.Status
	// asst is the tenant's assistant the request named, else nil.
	asst *Assistant
	// req is the request as the model runs it (an assistant's system
	// prompt first) and ret what to retrieve for it.
	req *wire.ChatRequest
	ret *retrieval
}

// name is the model name responses carry when m answered: the assistant's
// name when the client asked for one, else the model's (a fallback's own).
func (r *resolved) name(m *registry.Model) string {
	if r.asst != nil {
		return r.asst.Name
	}
	return m.ID
}

// resolve resolves a request's model — a registry model or alias first,
// else one of the tenant's assistants — and checks its tools and quota.
func (s *Service) resolve(ctx context.Context, c *Caller, req *wire.ChatRequest) (*resolved, error) {
	r := new(resolved)
	if err := s.resolveInto(ctx, c, req, r); err != nil {
		return nil, err
	}
	return r, nil
}

// resolveInto is resolve into r, which it does not keep: Chat's r stays
// on its stack (issue 15, ADR 0081). r is complete only without an error.
func (s *Service) resolveInto(ctx context.Context, c *Caller, req *wire.ChatRequest, r *resolved) error {
	r.req = req
	m, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, req.Model)
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindNotFound {
		a, am, aerr := s.assistant(ctx, c, req.Model)
		switch {
		case aerr != nil:
			return aerr
		case a != nil:
			m, err, r.asst = am, nil, a
		}
	}
	if err != nil {
		return err
	}
	r.ret = requestRetrieval(req)
	if r.ret != nil && !c.CanSearch {
		return apierr.Forbidden("rampart.collections",
			"This API key lacks the ingest:read scope needed to search collections by name; use an assistant model or a key with ingest:read.")
	}
	if r.asst != nil {
		r.ret = assistantRetrieval(r.asst, req)
		r.req = withSystemPrompt(r.asst, req)
	}
	r.m, r.set, r.st, err = s.resolveChat(ctx, c, req, m)
	return err
}

// resolveChat checks the model, tools and quota of a request.
func (s *Service) resolveChat(ctx context.Context, c *Caller, req *wire.ChatRequest, m *registry.Model) (*registry.Model, *toolpolicy.Set, quota.Status, error) {
	if m.Kind != registry.KindChat {
		return nil, nil, quota.Status{}, apierr.Invalid("model", "The model `%s` is an embedding model; use /v1/embeddings.", req.Model)
	}
	caps := s.Providers[m.Upstream].Capabilities(m.UpstreamModel)
	if len(req.Tools) > 0 && !caps.Tools {
		return nil, nil, quota.Status{}, apierr.Invalid("tools", "The model `%s` does not support tools.", req.Model)
	}
	if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_object" && !caps.JSONMode {
		return nil, nil, quota.Status{}, apierr.Invalid("response_format", "The model `%s` does not support response_format json_object.", req.Model)
	}
	if req.StructuredOutput() && !caps.StructuredOutputs {
		return nil, nil, quota.Status{}, apierr.Invalid("response_format", "The model `%s` does not support response_format json_schema (structured outputs).", req.Model)
	}
	if req.WantsLogprobs() && !caps.Logprobs {
		return nil, nil, quota.Status{}, apierr.InvalidCode("unsupported_parameter", "logprobs",
			"The model `%s` does not return log probabilities: its provider (%s) has no logprobs; logprobs and top_logprobs are served on models of OpenAI-compatible upstreams.",
			req.Model, s.Providers[m.Upstream].Name())
	}
	if !caps.Reasoning && (req.ReasoningEffort != "" || req.Verbosity != "") {
		param := "reasoning_effort"
		if req.ReasoningEffort == "" {
			param = "verbosity"
		}
		return nil, nil, quota.Status{}, apierr.InvalidCode("unsupported_parameter", param,
			"Unsupported parameter: '%s' is not supported with the model `%s`: its provider (%s) takes no reasoning settings; they are served on models of OpenAI-compatible upstreams.",
			param, req.Model, s.Providers[m.Upstream].Name())
	}
	if len(req.LogitBias) > 0 && !caps.LogitBias {
		return nil, nil, quota.Status{}, apierr.InvalidCode("unsupported_parameter", "logit_bias",
			"Unsupported parameter: 'logit_bias' is not supported with the model `%s`: its provider (%s) takes no token biases; logit_bias is served on models of OpenAI-compatible upstreams.",
			req.Model, s.Providers[m.Upstream].Name())
	}
	set := s.Tools.For(c.Tenant, c.Key)
	decisions, err := set.CheckDefinitions(req.Tools)
	s.audit(ctx, c, m.ID, decisions)
	if err != nil {
		return nil, nil, quota.Status{}, err
	}
	st, err := s.Quota.Check(ctx, c.subject(), c.Limits)
	if err != nil {
		s.Metrics.limited(m.ID, err)
		return nil, nil, quota.Status{}, err
	}
	return m, set, st, nil
}

func (s *Service) audit(ctx context.Context, c *Caller, model string, ds []toolpolicy.Decision) {
	for _, d := range ds {
		s.Log.LogAttrs(ctx, slog.LevelInfo, "audit tool policy",
			slog.String("event", "tool_policy"), slog.String("tenant_id", c.Tenant), slog.String("key_id", c.Key),
			slog.String("request_id", c.RequestID), slog.String("model", model), slog.String("tool", d.Tool),
			slog.String("outcome", d.Outcome), slog.String("reason", d.Reason))
	}
}

// fallbackable reports whether an error may be retried on the fallback model.
func fallbackable(err error) bool {
	e, ok := apierr.As(err)
	return ok && (e.Kind == apierr.KindUnavailable || e.Kind == apierr.KindTimeout || e.Kind == apierr.KindRateLimited)
}

// fallback returns m's fallback if the tenant's key may use it.
func (s *Service) fallback(c *Caller, m *registry.Model) *registry.Model {
	if m.Fallback == "" {
		return nil
	}
	fb, err := s.Registry.Resolve(c.Tenant, c.AllowedModels, m.Fallback)
	if err != nil {
		return nil
	}
	return fb
}

func (s *Service) providerErr(ctx context.Context, c *Caller, m *registry.Model, err error) error {
	if e, ok := apierr.As(err); ok {
		if e.Cause != nil {
			s.Log.WarnContext(ctx, "upstream call failed", "model", m.ID, "upstream", m.Upstream, "request_id", c.RequestID, "err", e.Cause)
		}
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.Log.ErrorContext(ctx, "provider call failed", "model", m.ID, "upstream", m.Upstream, "request_id", c.RequestID, "err", err)
	return apierr.Internal()
}

// Chat runs a non-streaming completion.
func (s *Service) Chat(ctx context.Context, c *Caller, body []byte, ps []provider.Passage) (*Output, error) {
	start := s.now()
	req, err := wire.ParseChat(body)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return nil, apierr.Invalid("stream", "stream must be false on this call; use StreamChatCompletion")
	}
	// r and g on the stack: neither function keeps them (ADR 0081).
	var r resolved
	if err := s.resolveInto(ctx, c, req, &r); err != nil {
		return nil, err
	}
	m, set, st := r.m, r.set, r.st
	var g grounding
	if err := s.groundInto(ctx, c, r.req, ps, r.ret, &g); err != nil {
		return nil, err
	}
	if req.Choices() > 1 {
		return s.chatChoices(ctx, c, req, body, &r, &g, start)
	}
	p := g.provider(s, m)
	call := g.call(m, p)
	res, err := p.Chat(ctx, call)
	if err != nil && fallbackable(err) {
		if fb := s.fallback(c, m); fb != nil {
			s.Log.WarnContext(ctx, "model unavailable, using fallback", "model", m.ID, "fallback", fb.ID, "request_id", c.RequestID)
			m = fb
			p = g.provider(s, m)
			call = g.call(m, p)
			res, err = p.Chat(ctx, call)
		}
	}
	if err != nil {
		s.Metrics.failed(m.ID, "chat", err)
		return nil, s.providerErr(ctx, c, m, err)
	}

	ext := wire.Extension{Citations: g.citations(res.Citations, res.Content)}
	toolCalls := res.ToolCalls
	finish := res.FinishReason
	if len(toolCalls) > 0 {
		f := set.FilterCalls(toolCalls, req.Tools)
		s.audit(ctx, c, m.ID, f.Decisions)
		toolCalls, ext.RequiresConfirmation, ext.StrippedToolCalls = f.Allowed, f.Confirm, f.Stripped
		if len(toolCalls) == 0 && finish == "tool_calls" {
			finish = "stop"
		}
	}
	u := s.usage(m, call.Request, res.Usage, res.Content, res.ToolCalls)
	a := answer{
		id: newID("chatcmpl-"), created: start.Unix(), model: r.name(m),
		content: res.Content, hasContent: res.HasContent || len(toolCalls) == 0,
		toolCalls: toolCalls, finish: finish, prompt: int(u.PromptTokens), completion: int(u.CompletionTokens),
		promptDetails: res.Usage.PromptDetails, completionDetails: res.Usage.CompletionDetails,
		logprobs: res.Logprobs,
	}
	var b []byte
	e := g.extension(&ext)
	if e == nil {
		b = a.appendFast()
	}
	if b == nil {
		// An extension (or anything else the fast writer refuses) takes
		// json.Marshal, over a completion of its own on the heap.
		if b, err = wire.EncodeCompletion(a.chatCompletion(e)); err != nil {
			return nil, fmt.Errorf("encode completion: %w", err)
		}
	}
	s.finish(ctx, c, m, "chat", u, start)
	s.logPrompt(ctx, c, m, "chat", body, b)
	return &Output{Body: b, Headers: rateHeaders(st)}, nil
}

// answer is what a non-streamed chat completion's body says.
type answer struct {
	id, model          string
	created            int64
	content            string
	hasContent         bool
	toolCalls          []wire.ToolCall
	finish             string
	prompt, completion int
	// The upstream's usage details, nil when it sent none (ADR 0117).
	promptDetails     *wire.PromptTokensDetails
	completionDetails *wire.CompletionTokensDetails
	// logprobs is the upstream's (nil: null; ADR 0120 §2).
	logprobs []byte
}

// usage is a's usage as the wire's.
func (a *answer) usage() wire.Usage {
	return wire.Usage{PromptTokens: a.prompt, CompletionTokens: a.completion, TotalTokens: a.prompt + a.completion,
		PromptTokensDetails: a.promptDetails, CompletionTokensDetails: a.completionDetails}
}

// chatCompletion is a as the wire's completion; ext is the rampart extension
// (nil: none).
func (a *answer) chatCompletion(ext *wire.Extension) *wire.ChatCompletion {
	out := &wire.ChatCompletion{
		ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model,
		Choices: []wire.Choice{{
			Message:      wire.ResponseMessage{Role: "assistant", ToolCalls: a.toolCalls},
			Logprobs:     logprobs(a.logprobs),
			FinishReason: a.finish,
		}},
	}
	usage := a.usage()
	out.Usage = &usage
	if a.hasContent {
		content := a.content
		out.Choices[0].Message.Content = &content
	}
	if ext != nil {
		out.Rampart = &wire.Extension{}
		*out.Rampart = *ext
	}
	return out
}

// appendFast writes a (without an extension) by wire.AppendCompletion
// from a completion on the stack, or returns nil when that cannot write
// it: the completion, its choice, usage and content were four heap
// objects per chat completion only to be encoded (issue 15, ADR 0089).
// Same bytes as chatCompletion(nil) through wire.EncodeCompletion
// (TestAnswerFastIsEncodeCompletion).
func (a *answer) appendFast() []byte {
	choices := [1]wire.Choice{{
		Message:      wire.ResponseMessage{Role: "assistant", ToolCalls: a.toolCalls},
		Logprobs:     logprobs(a.logprobs),
		FinishReason: a.finish,
	}}
	usage := a.usage()
	out := wire.ChatCompletion{ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model, Choices: choices[:], Usage: &usage}
	content := a.content
	if a.hasContent {
		choices[0].Message.Content = &content
	}
	b, ok := wire.AppendCompletion(make([]byte, 0, 384), &out)
	if !ok {
		return nil
	}
	return b
}

// usage returns the provider's usage or, when it reports none, a count
// with the model's tokenizer (tiktoken for OpenAI-style models) or the
// documented estimate.
func (s *Service) usage(m *registry.Model, req *wire.ChatRequest, u provider.Usage, content string, calls []wire.ToolCall) store.Record {
	if u.Reported {
		return store.Record{PromptTokens: int64(u.PromptTokens), CompletionTokens: int64(u.CompletionTokens)}
	}
	cnt := s.counter(m)
	if !cnt.Exact() {
		cnt = tokenizer.EstimateCounter
	}
	completion := cnt.Count(content)
	for _, tc := range calls {
		completion += cnt.Count(tc.Function.Name) + cnt.Count(tc.Function.Arguments)
	}
	if !cnt.Exact() {
		return store.Record{PromptTokens: int64(provider.EstimatePrompt(req)), CompletionTokens: int64(completion), Estimated: true}
	}
	return store.Record{PromptTokens: int64(provider.CountPrompt(req, cnt.Count, 3)), CompletionTokens: int64(completion), Estimated: true}
}

// counter returns (and remembers) the model's token counter.
func (s *Service) counter(m *registry.Model) tokenizer.Counter {
	if c, ok := s.counters.Load(m.ID); ok {
		cnt, _ := c.(tokenizer.Counter)
		return cnt
	}
	cnt := tokenizer.For(s.Providers[m.Upstream].Name(), m.UpstreamModel, m.Tokenizer)
	s.counters.Store(m.ID, cnt)
	return cnt
}

// finish charges the quota, records usage and counts metrics.
func (s *Service) finish(ctx context.Context, c *Caller, m *registry.Model, endpoint string, u store.Record, start time.Time) {
	now := s.now()
	u.Tenant, u.Key, u.Model, u.RequestID = c.Tenant, c.Key, m.ID, c.RequestID
	u.CostMicroUSD = m.CostMicroUSD(int(u.PromptTokens), int(u.CompletionTokens))
	u.Latency = now.Sub(start)
	u.At = now
	s.Quota.Charge(ctx, c.subject(), c.Limits, u.PromptTokens+u.CompletionTokens)
	if s.Recorder != nil {
		s.Recorder.Record(u)
	}
	s.Metrics.done(m.ID, endpoint, u)
}

// rateHeaders are OpenAI's x-ratelimit-* token headers for the tightest
// token-per-minute limit that applies (none when no TPM limit is set).
func rateHeaders(st quota.Status) map[string]string { return st.Headers() }
