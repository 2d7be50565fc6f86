package wire

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	"errors"
	"strconv"
	"unicode/utf8"
)

// ChatRequest is a /v1/chat/completions request body.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Stop                StringList      `json:"stop,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	// Logprobs and TopLogprobs go to upstreams that return log
	// probabilities (OpenAI-compatible ones); a model whose provider
	// cannot is refused with 400 naming them (ADR 0120 §2).
	Logprobs    *bool `json:"logprobs,omitempty"`
	TopLogprobs *int  `json:"top_logprobs,omitempty"`
	// ReasoningEffort and Verbosity go to upstreams whose models reason
	// (OpenAI-compatible ones); a model whose provider has no such
	// setting is refused with 400 naming them (ADR 0135 §2).
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
	Verbosity       string `json:"verbosity,omitempty"`
	// LogitBias (token id → -100..100) goes to upstreams that take it
	// (OpenAI-compatible ones: the ids are their tokenizer's); elsewhere a
	// non-empty one is refused naming it (ADR 0135 §6).
	LogitBias map[string]int `json:"logit_bias,omitempty"`

	// Rampart is Rampart's extension: retrieval over the tenant's
	// collections (docs/adr/0012-retrieval-augmented-chat.md). It is never
	// forwarded to an upstream.
	Rampart *RequestExtension `json:"rampart,omitempty"`

	// Accepted and ignored (see ignored.go); not forwarded upstream.
	FrequencyPenalty  *float64          `json:"frequency_penalty,omitempty"`
	PresencePenalty   *float64          `json:"presence_penalty,omitempty"`
	ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
	Store             *bool             `json:"store,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	SafetyIdentifier  string            `json:"safety_identifier,omitempty"`
	PromptCacheKey    string            `json:"prompt_cache_key,omitempty"`
	// Accepted when they ask for what Rampart does anyway (ADR 0135 §1):
	// modalities ["text"], service_tier "auto" or "default"; never
	// forwarded.
	Modalities  []string `json:"modalities,omitempty"`
	ServiceTier string   `json:"service_tier,omitempty"`
}

// MaxOutputTokens returns max_completion_tokens, else max_tokens, else 0.
func (r *ChatRequest) MaxOutputTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// Choices is n: how many choices to generate (1 when absent).
func (r *ChatRequest) Choices() int {
	if r.N == nil {
		return 1
	}
	return *r.N
}

// WantsLogprobs reports whether the request asks for log probabilities
// (logprobs true; top_logprobs needs it, Validate checks).
func (r *ChatRequest) WantsLogprobs() bool { return r.Logprobs != nil && *r.Logprobs }

// IncludeUsage reports whether stream_options.include_usage is set.
func (r *ChatRequest) IncludeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// StreamOptions is stream_options. IncludeObfuscation is accepted either
// way and never forwarded: Rampart's chunks carry no "obfuscation" member,
// as an OpenAI stream with include_obfuscation false (ADR 0135 §1).
type StreamOptions struct {
	IncludeUsage       bool  `json:"include_usage"`
	IncludeObfuscation *bool `json:"include_obfuscation,omitempty"`
}

// ResponseFormat is response_format: "text", "json_object", or
// "json_schema" with the schema the answer must follow (structured outputs).
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is response_format.json_schema.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// StructuredOutput reports whether the request asks for json_schema output.
func (r *ChatRequest) StructuredOutput() bool {
	return r.ResponseFormat != nil && r.ResponseFormat.Type == "json_schema"
}

// Message is one conversation message.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// *AnswerFields is set only when a message carries one of them (a
	// pointer, so the common message pays 8 bytes); validate folds it in
	// and clears it.
	*AnswerFields
}

// AnswerFields are the members of an answer's message besides role,
// content and tool_calls, which a client sends back as it came
// (messages.push(completion.choices[0].message), OpenAI's own examples):
// refusal (null in every Rampart answer) becomes the assistant turn's text
// when it has no content; annotations are dropped; audio and
// function_call may only be null.
type AnswerFields struct {
	Refusal      *string         `json:"refusal,omitempty"`
	Annotations  json.RawMessage `json:"annotations,omitempty"`
	Audio        json.RawMessage `json:"audio,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// Content is a message's content: a string or an array of text parts,
// flattened to text (parts joined by a newline). Null is allowed (assistant
// messages carrying only tool calls).
type Content struct {
	Text  string
	Null  bool
	Parts bool // came as an array of parts
	Set   bool // present in the JSON
}

var errContentType = errors.New("content must be a string, an array of text parts, or null")

// errPartType carries the index of a non-text part.
type errPartType struct {
	index int
	typ   string
}

func (e *errPartType) Error() string {
	if e.typ == "text" {
		return "a content part of type \"text\" needs its text"
	}
	return "content part type " + strconv.Quote(e.typ) + " is not supported by Rampart (only \"text\")"
}

// path is the refused part's path in body, messages[i].content[j].type (or
// .text for a text part without its text): the decoder that met it knows
// the part's index but not its message's, so the body is read again, on
// this error's path only. "messages" when the part is not found (it is).
func (e *errPartType) path(body []byte) string {
	var req struct {
		Messages []struct {
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return "messages"
	}
	for i, m := range req.Messages {
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if json.Unmarshal(m.Content, &parts) != nil || len(parts) <= e.index {
			continue
		}
		p := parts[e.index]
		if p.Type != e.typ || (p.Type == "text" && p.Text != nil) {
			continue
		}
		member := ".type"
		if p.Type == "text" {
			member = ".text"
		}
		return indexed(indexed("messages", i)+".content", e.index) + member
	}
	return "messages"
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errContentType
	case bytes.Equal(b, []byte("null")):
		*c = Content{Null: true, Set: true}
		return nil
	case b[0] == '"':
		// Fast path (issue 15): the decoder that handed us b has already
		// checked it is one well-formed JSON string, so without a backslash
		// its text is the bytes between the quotes. A nested json.Unmarshal
		// per message was a measurable share of a chat's CPU. Invalid UTF-8
		// takes the slow path, which keeps json's U+FFFD replacement.
		if s, ok := plainJSONString(b); ok {
			*c = Content{Text: s, Set: true}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Content{Text: s, Set: true}
		return nil
	case b[0] == '[':
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return errContentType
		}
		var buf []byte
		for i, p := range parts {
			if p.Type != "text" || p.Text == nil {
				return &errPartType{index: i, typ: p.Type}
			}
			if i > 0 {
				buf = append(buf, '\n')
			}
			buf = append(buf, *p.Text...)
		}
		*c = Content{Text: string(buf), Parts: true, Set: true}
		return nil
	default:
		return errContentType
	}
}

// UnmarshalJSONFrom implements encoding/json/v2's UnmarshalerFrom, which
// encoding/json prefers to UnmarshalJSON: a string or null (every message
// of nearly every request) is read as one token straight from the decoder
// instead of being copied out as a raw value, trimmed and scanned again
// (issue 15). Arrays of parts and anything else take UnmarshalJSON, so the
// results and errors are the same (test).
func (c *Content) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		*c = Content{Null: true, Set: true}
		return nil
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*c = Content{Text: tok.String(), Set: true}
		return nil
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return c.UnmarshalJSON(v)
}

// plainJSONString returns the text of b when b is a JSON string literal
// that needs no unescaping: quoted, no backslash, quote or control
// character inside, valid UTF-8. Anything else reports false and goes
// through encoding/json.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, ch := range inner {
		if ch < 0x20 || ch == '"' || ch == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// MarshalJSON implements json.Marshaler (always a string or null).
func (c Content) MarshalJSON() ([]byte, error) {
	if c.null() {
		return []byte("null"), nil
	}
	return json.Marshal(c.Text)
}

// MarshalJSONTo implements encoding/json/v2's MarshalerTo, which
// encoding/json prefers to MarshalJSON: the text is written straight into
// the encoder instead of through a nested Marshal whose output the encoder
// then checked and copied again, once per message of every request sent
// upstream (issue 15). Same bytes as MarshalJSON (test).
func (c Content) MarshalJSONTo(enc *jsontext.Encoder) error {
	if c.null() {
		return enc.WriteToken(jsontext.Null)
	}
	return enc.WriteToken(jsontext.String(c.Text))
}

func (c Content) null() bool { return c.Null || (!c.Set && c.Text == "") }

// StringList is a string or an array of strings (stop).
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	*s = many
	return nil
}

// Tool is one tool definition.
type Tool struct {
	Type     string       `json:"type"`
	Function ToolFunction `json:"function"`
}

// ToolFunction is a function tool's definition.
type ToolFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolCall is a tool call proposed by the model (or echoed back by the client).
type ToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is the function of a tool call.
type ToolCallFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Usage is token usage. The details are the upstream's, passed through
// when it sends them (nil otherwise: an estimated count has none), in
// OpenAI's shape (ADR 0117).
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails is usage.prompt_tokens_details.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
	AudioTokens  int `json:"audio_tokens"`
}

// CompletionTokensDetails is usage.completion_tokens_details.
type CompletionTokensDetails struct {
	ReasoningTokens          int `json:"reasoning_tokens"`
	AudioTokens              int `json:"audio_tokens"`
	AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
	RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
}

// ChatCompletion is a chat.completion response object.
type ChatCompletion struct {
	ID                string     `json:"id"`
	Object            string     `json:"object"`
	Created           int64      `json:"created"`
	Model             string     `json:"model"`
	Choices           []Choice   `json:"choices"`
	Usage             *Usage     `json:"usage,omitempty"`
	SystemFingerprint *string    `json:"system_fingerprint"`
	Rampart           *Extension `json:"rampart,omitempty"`
}

// Choice is one completion choice.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	Refusal   *string    `json:"refusal"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
}

// Extension is Rampart's addition to responses and final stream chunks:
// citations of grounded answers, the tool-policy outcome, and a warning
// when retrieval could not run.
type Extension struct {
	Citations            []Citation     `json:"citations,omitempty"`
	RequiresConfirmation []ToolCall     `json:"requires_confirmation,omitempty"`
	StrippedToolCalls    []StrippedCall `json:"stripped_tool_calls,omitempty"`
	// Warning says the answer is not what was asked for in a way the
	// client should show, e.g. that document search was unavailable and
	// the answer is not grounded in the documents.
	Warning string `json:"warning,omitempty"`
}

// Empty reports whether the extension carries nothing (and is omitted).
func (e *Extension) Empty() bool {
	return e == nil || len(e.Citations)+len(e.RequiresConfirmation)+len(e.StrippedToolCalls) == 0 && e.Warning == ""
}

// Citation names a quoted source. Its JSON field names are a contract
// shared with the Slack adapter and API clients: do not rename them.
type Citation struct {
	// Index is the number the answer uses ("[1]").
	Index int `json:"index"`
	// DocumentID and ChunkID identify the retrieved passage (absent for
	// context that came in the request's messages).
	DocumentID string `json:"document_id,omitempty"`
	// Source is the document's source (file name or URL).
	Source string `json:"source"`
	// Title is the document's title, when known.
	Title string `json:"title,omitempty"`
	// URL links to the document, when it has one.
	URL string `json:"url,omitempty"`
	// ChunkID and Quote are the document's first cited passage (the
	// shape clients read before docs/adr/0079).
	ChunkID string `json:"chunk_id,omitempty"`
	// Quote is the quoted text.
	Quote string `json:"quote"`
	// Passages are every passage of the document the answer drew on, in
	// order (the first is ChunkID and Quote): one citation per document,
	// its number the answer's "[n]" (docs/adr/0079).
	Passages []CitedPassage `json:"passages,omitempty"`
}

// CitedPassage is one passage of a cited document.
type CitedPassage struct {
	ChunkID string `json:"chunk_id,omitempty"`
	Quote   string `json:"quote"`
	// Heading is the passage's section in its document ("A > B").
	Heading string `json:"heading,omitempty"`
	// Score is the passage's search score (retrieved passages only).
	Score float64 `json:"score,omitempty"`
	// Location is where the quote is in the document (retrieved passages
	// of documents ingested with locations only; docs/adr/0085).
	Location *Location `json:"location,omitempty"`
}

// Location is where a quote is in its document (ingestion's Location):
// characters (Unicode code points) [Start, End) of the document's
// extracted text (the file itself for text and Markdown), the lines of a
// text file and the pages of a PDF (0: none, omitted).
type Location struct {
	Start   int `json:"start"`
	End     int `json:"end"`
	Line    int `json:"line,omitempty"`
	LineEnd int `json:"line_end,omitempty"`
	Page    int `json:"page,omitempty"`
	PageEnd int `json:"page_end,omitempty"`
}

// RequestExtension is the request's "rampart" object.
type RequestExtension struct {
	// Collections to retrieve passages from (the caller tenant's).
	Collections []string `json:"collections,omitempty"`
	// TopK is how many passages to use (default DefaultTopK, 1–MaxTopK).
	TopK *int `json:"top_k,omitempty"`
	// MinScore drops passages whose search score is below it.
	MinScore *float64 `json:"min_score,omitempty"`
}

// StrippedCall reports a model-proposed tool call the policy removed.
type StrippedCall struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Chunk is a chat.completion.chunk stream object.
type Chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []ChunkChoice `json:"choices"`
	// Usage is null on every chunk but the last when include_usage is set,
	// and absent otherwise (OpenAI's behaviour).
	Usage   json.RawMessage `json:"usage,omitempty"`
	Rampart *Extension      `json:"rampart,omitempty"`
}

// ChunkChoice is one choice of a chunk.
type ChunkChoice struct {
	Index        int             `json:"index"`
	Delta        Delta           `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// Delta is the incremental message of a chunk.
type Delta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is an incremental tool call.
type ToolCallDelta struct {
	Index    int              `json:"index"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function ToolCallFunction `json:"function"`
}

// EmbeddingsRequest is a /v1/embeddings request body.
type EmbeddingsRequest struct {
	Model          string    `json:"model"`
	Input          InputList `json:"input"`
	EncodingFormat string    `json:"encoding_format,omitempty"`
	Dimensions     *int      `json:"dimensions,omitempty"`
	User           string    `json:"user,omitempty"`
}

// InputList is embeddings input: a string or an array of strings. Token
// arrays are not supported.
type InputList []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *InputList) UnmarshalJSON(b []byte) error {
	var l StringList
	if err := l.UnmarshalJSON(b); err != nil {
		return errors.New("must be a string or an array of strings (token arrays are not supported)")
	}
	*s = InputList(l)
	return nil
}

// EmbeddingList is the embeddings response.
type EmbeddingList struct {
	Object string      `json:"object"`
	Data   []Embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  EmbedUsage  `json:"usage"`
}

// Embedding is one vector, as floats or as base64 of little-endian float32.
type Embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// EmbedUsage is embeddings usage.
type EmbedUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// NullRaw is the JSON null literal.
var NullRaw = json.RawMessage("null")
