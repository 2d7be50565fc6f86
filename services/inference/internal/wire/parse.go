package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// MaxStop is the most stop sequences OpenAI accepts.
const MaxStop = 4

// MaxChoices is the largest n Rampart serves (OpenAI takes up to 128):
// every choice is a completion the tenant pays for, and on a model whose
// upstream cannot generate several choices in one call each is a call of
// its own (ADR 0120 §1).
const MaxChoices = 8

// MaxTopLogprobs is the largest top_logprobs (OpenAI's bound).
const MaxTopLogprobs = 20

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ParseChat decodes and validates a chat completion request body.
func ParseChat(body []byte) (*ChatRequest, error) {
	var r ChatRequest
	if !fastChat(body, &r) {
		r = ChatRequest{}
		if err := decodeStrict(body, &r); err != nil {
			return nil, err
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// ParseEmbeddings decodes and validates an embeddings request body.
func ParseEmbeddings(body []byte) (*EmbeddingsRequest, error) {
	var r EmbeddingsRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, apierr.Invalid("model", "you must provide a model parameter")
	}
	if len(r.Input) == 0 {
		return nil, apierr.Invalid("input", "input must be a non-empty string or array of strings")
	}
	if len(r.Input) > 2048 {
		return nil, apierr.Invalid("input", "input must have at most 2048 items")
	}
	for i, s := range r.Input {
		if s == "" {
			return nil, apierr.Invalid(fmt.Sprintf("input[%d]", i), "input must not contain empty strings")
		}
	}
	switch r.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, apierr.Invalid("encoding_format", "encoding_format must be \"float\" or \"base64\"")
	}
	if r.Dimensions != nil && *r.Dimensions < 1 {
		return nil, apierr.Invalid("dimensions", "dimensions must be at least 1")
	}
	return &r, nil
}

// decodeStrict decodes exactly one JSON object, refusing unknown fields and
// naming the offending parameter in every error.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.Invalid("", "the request body is empty; expected a JSON object")
	}
	// encoding/json turns invalid UTF-8 inside strings into U+FFFD: refuse
	// it instead, so what reaches the model and the logs is what was sent.
	if !utf8.Valid(body) {
		return apierr.Invalid("", "the request body is not valid UTF-8; JSON must be UTF-8 encoded")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, body, v)
	}
	// Only JSON whitespace may follow the object (checked in place: asking
	// the decoder for another token cost more than the rest of the check).
	for _, c := range body[dec.InputOffset():] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return apierr.Invalid("", "We could not parse the JSON body of your request: unexpected data after the JSON object.")
		}
	}
	return nil
}

func decodeError(err error, body []byte, v any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var part *errPartType
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.Invalid("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apierr.Invalid("", "the request body must be a JSON object")
		}
		return apierr.Invalid(field, "Invalid type for '%s': expected %s, but got %s instead.", field, jsonType(typ.Type), jsonValue(typ.Value))
	case errors.As(err, &part):
		return apierr.InvalidCode("unsupported_value", part.path(body), "%s", part.Error())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if p := unknownPath(body, v, name); p != "" {
			name = p
		}
		if UnservedParameters[name] {
			return apierr.InvalidCode("unsupported_parameter", name, "Unsupported parameter: '%s' is not supported by Rampart.", name)
		}
		return apierr.InvalidCode("unsupported_parameter", name, "Unrecognized request argument supplied: %s", name)
	case errors.Is(err, errContentType):
		return apierr.Invalid("messages", "%s", err.Error())
	default:
		// Errors from our UnmarshalJSON methods (stop, input).
		return apierr.Invalid("", "Invalid request body: %s", err.Error())
	}
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// Validate checks the semantic rules OpenAI applies, naming the parameter.
func (r *ChatRequest) Validate() error {
	if r.Model == "" {
		return apierr.Invalid("model", "you must provide a model parameter")
	}
	if len(r.Messages) == 0 {
		return apierr.Invalid("messages", "messages must be a non-empty array")
	}
	for i := range r.Messages {
		if err := r.Messages[i].validate(i); err != nil {
			return err
		}
	}
	if err := r.validateChoices(); err != nil {
		return err
	}
	if t := r.Temperature; t != nil && (*t < 0 || *t > 2) {
		return apierr.Invalid("temperature", "temperature must be between 0 and 2")
	}
	if p := r.TopP; p != nil && (*p < 0 || *p > 1) {
		return apierr.Invalid("top_p", "top_p must be between 0 and 1")
	}
	if m := r.MaxTokens; m != nil && *m < 1 {
		return apierr.Invalid("max_tokens", "max_tokens must be at least 1")
	}
	if m := r.MaxCompletionTokens; m != nil && *m < 1 {
		return apierr.Invalid("max_completion_tokens", "max_completion_tokens must be at least 1")
	}
	if len(r.Stop) > MaxStop {
		return apierr.Invalid("stop", "stop must have at most %d sequences", MaxStop)
	}
	if r.StreamOptions != nil && !r.Stream {
		return apierr.Invalid("stream_options", "stream_options is only allowed when stream is true")
	}
	if err := r.ResponseFormat.validate(); err != nil {
		return err
	}
	if err := r.validateTiers(); err != nil {
		return err
	}
	if err := r.Rampart.validate(); err != nil {
		return err
	}
	names := make(map[string]bool, len(r.Tools))
	for i, t := range r.Tools {
		// The path is built only for an error: a Sprintf per element was a
		// measurable part of parsing every request (issue 15).
		p := func() string { return indexed("tools", i) }
		if t.Type != "function" {
			return apierr.Invalid(p()+".type", "tool type must be \"function\"")
		}
		if !toolName.MatchString(t.Function.Name) {
			return apierr.Invalid(p()+".function.name", "tool names must match ^[a-zA-Z0-9_-]{1,64}$")
		}
		if names[t.Function.Name] {
			return apierr.Invalid(p()+".function.name", "duplicate tool name %q", t.Function.Name)
		}
		names[t.Function.Name] = true
		if len(t.Function.Parameters) > 0 && !isObject(t.Function.Parameters) {
			return apierr.Invalid(p()+".function.parameters", "parameters must be a JSON Schema object")
		}
	}
	if len(r.ToolChoice) > 0 && !bytes.Equal(r.ToolChoice, NullRaw) {
		if err := r.applyAllowedTools(names); err != nil {
			return err
		}
		choice, err := r.ToolChoiceName()
		if err != nil {
			return err
		}
		if choice != "none" && len(r.Tools) == 0 {
			return apierr.Invalid("tool_choice", "tool_choice is only allowed when tools are specified")
		}
		if choice != "none" && choice != "auto" && choice != "required" && !names[choice] {
			return apierr.Invalid("tool_choice", "tool_choice names the unknown tool %q", choice)
		}
	}
	return nil
}

// settingWord is the form of reasoning_effort and verbosity values
// ("low", "xhigh"): the upstream decides which it takes (OpenAI adds
// values: "max" came after "xhigh"), Rampart only keeps out what is no
// such word.
var settingWord = regexp.MustCompile(`^[a-z_]{1,32}$`)

// validateTiers checks the members that ask for a way of answering
// (ADR 0135): modalities and service_tier are taken only when they ask for
// what Rampart does anyway, a text answer on the one tier it has;
// reasoning_effort and verbosity must be words like OpenAI's values
// (which ones the model takes is the upstream's business, whether its
// provider takes any resolveChat's).
func (r *ChatRequest) validateTiers() error {
	for i, m := range r.Modalities {
		if m != "text" {
			return apierr.InvalidCode("unsupported_value", indexed("modalities", i),
				"Unsupported value: 'modalities' does not support %q with Rampart; only \"text\" is served.", m)
		}
	}
	switch r.ServiceTier {
	case "", "auto", "default":
	default:
		return apierr.InvalidCode("unsupported_value", "service_tier",
			"Unsupported value: 'service_tier' does not support %q with Rampart; only \"auto\" and \"default\" are served.", r.ServiceTier)
	}
	if r.ReasoningEffort != "" && !settingWord.MatchString(r.ReasoningEffort) {
		return apierr.Invalid("reasoning_effort", "reasoning_effort must be one of OpenAI's values, such as \"low\", \"medium\" or \"high\"")
	}
	for k, v := range r.LogitBias {
		if _, err := strconv.ParseUint(k, 10, 32); err != nil {
			return apierr.Invalid("logit_bias", "Invalid key in 'logit_bias': %q is not a token id (an integer)", k)
		}
		if v < -100 || v > 100 {
			return apierr.Invalid("logit_bias", "Invalid value in 'logit_bias' for token %s: must be between -100 and 100", k)
		}
	}
	if r.Verbosity != "" && !settingWord.MatchString(r.Verbosity) {
		return apierr.Invalid("verbosity", "verbosity must be one of OpenAI's values: \"low\", \"medium\" or \"high\"")
	}
	return nil
}

// validateChoices checks n, and top_logprobs against logprobs (ADR 0120).
func (r *ChatRequest) validateChoices() error {
	if r.N != nil && (*r.N < 1 || *r.N > MaxChoices) {
		return apierr.Invalid("n", "n must be between 1 and %d", MaxChoices)
	}
	if t := r.TopLogprobs; t != nil {
		if *t < 0 || *t > MaxTopLogprobs {
			return apierr.Invalid("top_logprobs", "top_logprobs must be between 0 and %d", MaxTopLogprobs)
		}
		if !r.WantsLogprobs() {
			return apierr.Invalid("top_logprobs", "top_logprobs is only allowed when logprobs is true")
		}
	}
	return nil
}

// applyAllowedTools serves tool_choice {"type":"allowed_tools",
// "allowed_tools":{"mode","tools"}} (ADR 0135 §4) on every provider: the
// tools become the allowed ones (in their order in tools) and tool_choice
// the mode, "auto" or "required", so the model sees and can call only
// those, as at OpenAI. names are the tools' names. Any other tool_choice
// is left to ToolChoiceName.
func (r *ChatRequest) applyAllowedTools(names map[string]bool) error {
	b := bytes.TrimSpace(r.ToolChoice)
	if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`allowed_tools`)) {
		return nil
	}
	var obj struct {
		Type         string `json:"type"`
		AllowedTools *struct {
			Mode  string `json:"mode"`
			Tools []struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(b, &obj); err != nil || obj.Type != "allowed_tools" {
		return nil //nolint:nilerr // not this form: ToolChoiceName names the fault
	}
	const p = "tool_choice.allowed_tools"
	a := obj.AllowedTools
	if a == nil {
		return apierr.Invalid(p, "Missing required parameter: '%s'.", p)
	}
	if a.Mode != "auto" && a.Mode != "required" {
		return apierr.Invalid(p+".mode", "%s.mode must be \"auto\" or \"required\"", p)
	}
	if len(a.Tools) == 0 {
		return apierr.Invalid(p+".tools", "%s.tools must name at least one tool", p)
	}
	allowed := make(map[string]bool, len(a.Tools))
	for i, t := range a.Tools {
		if t.Type != "function" {
			return apierr.InvalidCode("unsupported_value", indexed(p+".tools", i)+".type", "only function tools can be allowed (tools of type %q are not supported)", t.Type)
		}
		if !names[t.Function.Name] {
			return apierr.Invalid(indexed(p+".tools", i)+".function.name", "%s names the unknown tool %q", p, t.Function.Name)
		}
		allowed[t.Function.Name] = true
	}
	kept := make([]Tool, 0, len(allowed))
	for _, t := range r.Tools {
		if allowed[t.Function.Name] {
			kept = append(kept, t)
		}
	}
	r.Tools = kept
	r.ToolChoice = json.RawMessage(strconv.Quote(a.Mode))
	return nil
}

// ToolChoiceName returns "none", "auto", "required", a function name, or ""
// when tool_choice is absent.
func (r *ChatRequest) ToolChoiceName() (string, error) {
	if len(r.ToolChoice) == 0 || bytes.Equal(r.ToolChoice, NullRaw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(r.ToolChoice, &s); err == nil {
		switch s {
		case "none", "auto", "required":
			return s, nil
		}
		return "", apierr.Invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or a function object")
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(r.ToolChoice, &obj); err != nil || obj.Type != "function" || obj.Function.Name == "" {
		return "", apierr.Invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\", {\"type\":\"function\",\"function\":{\"name\":...}} or {\"type\":\"allowed_tools\",...} (custom tools are not supported)")
	}
	return obj.Function.Name, nil
}

func (m *Message) validate(i int) error {
	// The path is built only for an error: a Sprintf per element was a
	// measurable part of parsing every request (issue 15).
	p := func() string { return indexed("messages", i) }
	if !roles[m.Role] {
		return apierr.Invalid(p()+".role", "role must be one of system, developer, user, assistant, tool")
	}
	if m.AnswerFields != nil {
		if err := m.foldAnswerFields(p); err != nil {
			return err
		}
	}
	switch m.Role {
	case "tool":
		if m.ToolCallID == "" {
			return apierr.Invalid(p()+".tool_call_id", "tool messages must have a tool_call_id")
		}
	case "assistant":
		if (m.Content.Null || !m.Content.Set) && len(m.ToolCalls) == 0 {
			return apierr.Invalid(p()+".content", "assistant messages need content or tool_calls")
		}
		for j, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" {
				return apierr.Invalid(indexed(p()+".tool_calls", j), "tool calls need an id and a function name")
			}
		}
	default:
		if m.Content.Null || !m.Content.Set {
			return apierr.Invalid(p()+".content", "content is required for %s messages", m.Role)
		}
	}
	if m.Role != "assistant" && len(m.ToolCalls) > 0 {
		return apierr.Invalid(p()+".tool_calls", "only assistant messages may carry tool_calls")
	}
	return nil
}

// foldAnswerFields takes an assistant message's answer members (see
// AnswerFields) as OpenAI does and clears them: a refusal is the turn's
// text when it has none. On other roles, and for a non-null audio or
// function_call (Rampart serves neither), they are the unknown or
// unserved parameter they would be without this.
func (m *Message) foldAnswerFields(p func() string) error {
	a := m.AnswerFields
	m.AnswerFields = nil
	fields := []struct {
		name     string
		set      bool
		raw      json.RawMessage
		nullOnly bool
	}{{"refusal", a.Refusal != nil, nil, false}, {"annotations", a.Annotations != nil, nil, false},
		{"audio", a.Audio != nil, a.Audio, true}, {"function_call", a.FunctionCall != nil, a.FunctionCall, true}}
	for _, f := range fields {
		switch {
		case f.set && m.Role != "assistant":
			return apierr.InvalidCode("unsupported_parameter", p()+"."+f.name, "Unrecognized request argument supplied: %s.%s", p(), f.name)
		case f.nullOnly && len(f.raw) > 0 && !bytes.Equal(bytes.TrimSpace(f.raw), NullRaw):
			return apierr.InvalidCode("unsupported_parameter", p()+"."+f.name, "Unsupported parameter: '%s.%s' is not supported by Rampart.", p(), f.name)
		}
	}
	if a.Refusal != nil && *a.Refusal != "" && (m.Content.Null || !m.Content.Set || m.Content.Text == "") {
		m.Content = Content{Text: *a.Refusal, Set: true}
	}
	return nil
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// Bounds of the rampart request extension.
const (
	// MaxCollections is the most collections one request may search.
	MaxCollections = 8
	// DefaultTopK is how many passages are used when top_k is absent.
	DefaultTopK = 8
	// MaxTopK is ingestion's bound on one search.
	MaxTopK = 50
)

// collectionName is ingestion's collection name rule.
var collectionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (e *RequestExtension) validate() error {
	if e == nil {
		return nil
	}
	if len(e.Collections) > MaxCollections {
		return apierr.Invalid("rampart.collections", "rampart.collections may name at most %d collections", MaxCollections)
	}
	seen := make(map[string]bool, len(e.Collections))
	for i, c := range e.Collections {
		// The path is built only for an error: a Sprintf per element was a
		// measurable part of parsing every request (issue 15).
		p := func() string { return indexed("rampart.collections", i) }
		if !collectionName.MatchString(c) {
			return apierr.Invalid(p(), "%q is not a collection name (1-63 of a-z 0-9 _ -, starting alphanumeric)", c)
		}
		if seen[c] {
			return apierr.Invalid(p(), "collection %q is listed twice", c)
		}
		seen[c] = true
	}
	if e.TopK != nil && (*e.TopK < 1 || *e.TopK > MaxTopK) {
		return apierr.Invalid("rampart.top_k", "rampart.top_k must be between 1 and %d", MaxTopK)
	}
	if e.MinScore != nil && (*e.MinScore < 0 || *e.MinScore > 1e6) {
		return apierr.Invalid("rampart.min_score", "rampart.min_score must be between 0 and 1000000")
	}
	return nil
}

// CollectionName reports whether s is a valid collection name.
func CollectionName(s string) bool { return collectionName.MatchString(s) }

// Retrieval reports whether the request asks for retrieval.
func (r *ChatRequest) Retrieval() bool { return r.Rampart != nil && len(r.Rampart.Collections) > 0 }

// ErrNoUserMessage is the 400 of a retrieval request without a user
// message to search for.
func ErrNoUserMessage() error {
	return apierr.Invalid("messages", "retrieval (rampart.collections) needs a user message with text to search for")
}

func (f *ResponseFormat) validate() error {
	if f == nil {
		return nil
	}
	switch f.Type {
	case "text", "json_object":
		if f.JSONSchema != nil {
			return apierr.Invalid("response_format.json_schema", "response_format.json_schema is only allowed when response_format.type is \"json_schema\"")
		}
	case "json_schema":
		s := f.JSONSchema
		if s == nil {
			return apierr.Invalid("response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.")
		}
		if !toolName.MatchString(s.Name) {
			return apierr.Invalid("response_format.json_schema.name", "response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$")
		}
		if len(s.Schema) > 0 && !isObject(s.Schema) {
			return apierr.Invalid("response_format.json_schema.schema", "response_format.json_schema.schema must be a JSON Schema object")
		}
	default:
		return apierr.Invalid("response_format.type", "response_format.type must be \"text\", \"json_object\" or \"json_schema\"")
	}
	return nil
}

// indexed is name[i], the path of an array element in error messages.
func indexed(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }

// jsonType names the JSON type a Go field decodes from, as OpenAI's
// message does ("expected an array"), rather than the Go type
// ("[]wire.Message") a client knows nothing of.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "another type"
	}
}

// jsonValue names the JSON value encoding/json met ("string", "number",
// "number 1.5", "bool", "array", "object") with its article.
func jsonValue(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "a boolean"
	case "string", "number":
		return "a " + v
	default:
		return v
	}
}
