package provider

import (
	"context"
	"sort"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// Capabilities says what a provider (for a given model) can do.
type Capabilities struct {
	Chat     bool
	Stream   bool
	Tools    bool
	JSONMode bool
	// StructuredOutputs is response_format json_schema support.
	StructuredOutputs bool
	Embeddings        bool
	// ReportsUsage is true when the provider returns token counts; otherwise
	// the service estimates them (see internal/inference/tokens.go).
	ReportsUsage bool
	// Choices: the upstream generates n choices in one call (the request's
	// n is sent); otherwise the service makes one call per choice (ADR
	// 0120 §1).
	Choices bool
	// Logprobs: the upstream returns logprobs and top_logprobs in OpenAI's
	// shape (ChatResult.Logprobs, Delta.Logprobs); otherwise a request for
	// them is refused (ADR 0120 §2).
	Logprobs bool
	// Reasoning: the upstream takes reasoning_effort and verbosity, which
	// are sent; otherwise a request setting them is refused (ADR 0135 §2).
	Reasoning bool
	// LogitBias: the upstream takes logit_bias (token ids of its own
	// tokenizer), which is sent; otherwise a non-empty one is refused
	// (ADR 0135 §6).
	LogitBias bool
}

// Passage is retrieved text an answer may quote and cite.
type Passage struct {
	// ID is the chunk id cited ("<document id>:<seq>" for ingestion's).
	ID     string
	Text   string
	Source string
	// DocumentID, Title and URL describe the passage's document when known.
	DocumentID, Title, URL string
	// Heading is the passage's heading path in its document ("A > B").
	Heading string
	// Score is the search score of a retrieved passage.
	Score float64
	// Spans locate the passage's sentences in its document, in Text's
	// order (none when ingestion recorded no location; docs/adr/0085).
	Spans []Span
}

// Span is one located sentence of a passage: Text's characters (code
// points) [TextStart, TextEnd) are at Location in the document.
type Span struct {
	TextStart, TextEnd int
	Location           wire.Location
}

// Locate is the location of Text[from:to] (byte offsets of a quote taken
// from Text): from the start of its first sentence to the end of its
// last, narrowed to the quote's own characters inside a sentence whose
// text is character for character the document's (its white space was
// not squeezed). Nil when the passage has no spans: a location is never
// guessed.
func (p Passage) Locate(from, to int) *wire.Location {
	if len(p.Spans) == 0 || from < 0 || to > len(p.Text) || from >= to {
		return nil
	}
	a := utf8.RuneCountInString(p.Text[:from])
	b := a + utf8.RuneCountInString(p.Text[from:to])
	first := sort.Search(len(p.Spans), func(i int) bool { return p.Spans[i].TextEnd > a })
	last := sort.Search(len(p.Spans), func(i int) bool { return p.Spans[i].TextStart >= b }) - 1
	if first >= len(p.Spans) || last < first {
		return nil
	}
	f, l := p.Spans[first], p.Spans[last]
	loc := wire.Location{Start: f.Location.Start, End: l.Location.End, Line: f.Location.Line, LineEnd: l.Location.LineEnd, Page: f.Location.Page, PageEnd: l.Location.PageEnd}
	if verbatim(f) && a > f.TextStart {
		loc.Start += a - f.TextStart
	}
	if verbatim(l) && b < l.TextEnd {
		loc.End -= l.TextEnd - b
	}
	return &loc
}

// verbatim reports whether s's text has as many characters as the
// document's text at its location: squeezing white space only ever
// shortens a sentence, so the two are then the same character for
// character (a tab read as a space at most).
func verbatim(s Span) bool {
	return s.Location.End-s.Location.Start == s.TextEnd-s.TextStart
}

// ChatCall is one chat completion call.
type ChatCall struct {
	// UpstreamModel is the provider's own model name.
	UpstreamModel string
	Request       *wire.ChatRequest
	Passages      []Passage
	// Grounded means the passages came from retrieval over the tenant's
	// documents: an answerer that quotes (rampart-extractive) quotes only
	// them, never the request's messages.
	Grounded bool
}

// Usage is token usage as reported by the provider.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	// Reported is false when the provider did not report usage.
	Reported bool
	// PromptDetails and CompletionDetails are the provider's
	// usage.prompt_tokens_details and completion_tokens_details, passed
	// through to the caller when sent (ADR 0117).
	PromptDetails     *wire.PromptTokensDetails
	CompletionDetails *wire.CompletionTokensDetails
}

// ChatResult is a finished completion.
type ChatResult struct {
	Content      string
	HasContent   bool
	ToolCalls    []wire.ToolCall
	FinishReason string // stop, length, tool_calls, content_filter
	Usage        Usage
	Citations    []wire.Citation
	// Logprobs is the choice's logprobs object as the upstream sent it
	// (nil: none).
	Logprobs []byte
	// More are choices 1..n-1 of a call that asked an upstream with
	// Capabilities.Choices for n > 1 (their Usage is empty: Usage above
	// counts every choice).
	More []ChatResult
}

// Delta is one streamed increment. Tool calls arrive complete (providers
// assemble argument fragments) so the tool policy can check them.
type Delta struct {
	// Index is the choice the delta belongs to (0 unless n > 1).
	Index        int
	Content      string
	ToolCalls    []wire.ToolCall
	FinishReason string
	Usage        *Usage
	Citations    []wire.Citation
	// Logprobs is the chunk's logprobs object for Content as the upstream
	// sent it (nil: none); valid only during emit.
	Logprobs []byte
}

// EmbedCall is one embeddings call.
type EmbedCall struct {
	UpstreamModel string
	Inputs        []string
	Dimensions    int // 0 = model default
}

// EmbedResult holds one vector per input.
type EmbedResult struct {
	Vectors [][]float32
	Usage   Usage
}

// Provider is a model backend.
type Provider interface {
	// Name is the provider kind: local, openai, bedrock.
	Name() string
	// Capabilities of upstreamModel on this provider.
	Capabilities(upstreamModel string) Capabilities
	// Chat runs a completion.
	Chat(ctx context.Context, call *ChatCall) (*ChatResult, error)
	// Stream runs a completion, calling emit for each delta in order. An
	// error from emit stops the stream and is returned. An empty delta
	// says the upstream accepted the stream: the service starts the
	// client's stream there (ADR 0080), and a later failure is a
	// mid-stream error, no longer a status or a fallback. emit must not
	// keep the delta after it returns: a provider may reuse it for the
	// next (ADR 0099).
	Stream(ctx context.Context, call *ChatCall, emit func(*Delta) error) error
	// Embed computes embeddings.
	Embed(ctx context.Context, call *EmbedCall) (*EmbedResult, error)
}

// ResponsesCall is one request to an upstream's own Responses API.
type ResponsesCall struct {
	// UpstreamModel is the provider's own model name (it replaces
	// Request.Model).
	UpstreamModel string
	Request       *wire.NativeRequest
}

// Event is one server-sent event of an upstream's Responses stream: its
// type and its data as sent.
type Event struct {
	Type string
	Data []byte
}

// Responder is a provider whose upstream can serve the Responses API
// itself (native pass-through, ADR 0040); the registry's responses_api
// says which models use it.
type Responder interface {
	// Responses runs one non-streamed Responses request.
	Responses(ctx context.Context, call *ResponsesCall) (*wire.NativeResponse, error)
	// StreamResponses runs a streamed one, calling emit for each event in
	// order up to the terminal response.completed or response.incomplete.
	// An error event, response.failed and a stream cut before its terminal
	// event are errors.
	StreamResponses(ctx context.Context, call *ResponsesCall, emit func(*Event) error) error
}

// Add adds v's counts (and details) to u: the usage of several calls made
// for one request (n > 1 fanned out, ADR 0120 §1). u stays Reported only
// when both were.
func (u *Usage) Add(v Usage) {
	if v.PromptTokens == 0 && v.CompletionTokens == 0 && !v.Reported && v.PromptDetails == nil && v.CompletionDetails == nil {
		return
	}
	first := u.PromptTokens == 0 && u.CompletionTokens == 0 && !u.Reported
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.Reported = (first || u.Reported) && v.Reported
	if d := v.PromptDetails; d != nil {
		sum := wire.PromptTokensDetails{}
		if u.PromptDetails != nil {
			sum = *u.PromptDetails
		}
		sum.CachedTokens += d.CachedTokens
		sum.AudioTokens += d.AudioTokens
		u.PromptDetails = &sum
	}
	if d := v.CompletionDetails; d != nil {
		sum := wire.CompletionTokensDetails{}
		if u.CompletionDetails != nil {
			sum = *u.CompletionDetails
		}
		sum.ReasoningTokens += d.ReasoningTokens
		sum.AudioTokens += d.AudioTokens
		sum.AcceptedPredictionTokens += d.AcceptedPredictionTokens
		sum.RejectedPredictionTokens += d.RejectedPredictionTokens
		u.CompletionDetails = &sum
	}
}
