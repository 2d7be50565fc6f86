package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// MaxInputItems bounds a Responses request's input array.
const MaxInputItems = 1024

// ResponsesRequest is a /v1/responses request body (the OpenAI Responses
// API). It is served by mapping it to one chat request (ToChat): the same
// model resolution, tool policy, quota, usage and prompt logging as chat.
type ResponsesRequest struct {
	Model              string            `json:"model"`
	Input              json.RawMessage   `json:"input"`
	Instructions       *string           `json:"instructions,omitempty"`
	RawTools           []json.RawMessage `json:"tools,omitempty"`
	ToolChoice         json.RawMessage   `json:"tool_choice,omitempty"`
	Text               *ResponsesText    `json:"text,omitempty"`
	Temperature        *float64          `json:"temperature,omitempty"`
	TopP               *float64          `json:"top_p,omitempty"`
	MaxOutputTokens    *int              `json:"max_output_tokens,omitempty"`
	Stream             bool              `json:"stream,omitempty"`
	User               string            `json:"user,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	ParallelToolCalls  *bool             `json:"parallel_tool_calls,omitempty"`
	Store              *bool             `json:"store,omitempty"`
	PreviousResponseID *string           `json:"previous_response_id,omitempty"`
	Truncation         *string           `json:"truncation,omitempty"`
	Include            []string          `json:"include,omitempty"`
	Background         *bool             `json:"background,omitempty"`
	Reasoning          json.RawMessage   `json:"reasoning,omitempty"`
	ServiceTier        *string           `json:"service_tier,omitempty"`
	SafetyIdentifier   string            `json:"safety_identifier,omitempty"`
	PromptCacheKey     string            `json:"prompt_cache_key,omitempty"`
	StreamOptions      json.RawMessage   `json:"stream_options,omitempty"`

	// Rampart is the same retrieval extension as chat's.
	Rampart *RequestExtension `json:"rampart,omitempty"`

	// Tools are the function tools (decoded from RawTools by
	// ParseResponses, so a hosted tool is refused by its type rather than
	// by its first unknown field).
	Tools []ResponsesTool `json:"-"`
	// ChatReasoning, set by the service when the model's provider takes
	// reasoning settings (provider.Capabilities.Reasoning), has ToChat
	// send reasoning.effort and text.verbosity as chat's reasoning_effort
	// and verbosity; otherwise they are ignored on the chat path, as
	// before (ADR 0135 §2).
	ChatReasoning bool `json:"-"`
	// input is the input as chat messages (set by ParseResponses), after
	// a previous response's conversation when Continue prepended one.
	input []Message
	// reasoning holds the input's reasoning items that carry
	// encrypted_content, by the message they precede, counted from the
	// end of input (what comes before it, a previous response's
	// conversation, instructions, grounding, only ever grows the front).
	// Only a native upstream takes them back (Native); chat has no place
	// for them.
	reasoning map[int][]NativeItem
}

// responseID is what a response id may look like: Rampart's are "resp_"
// and 24 letters and digits; anything else cannot be stored here.
var responseID = regexp.MustCompile(`^resp_[0-9A-Za-z]{1,64}$`)

// ValidResponseID reports whether id can name a stored response.
func ValidResponseID(id string) bool { return responseID.MatchString(id) }

// StoreRequested reports whether the client asked to store the response
// ("store": true). Rampart's default is false, unlike OpenAI's
// (docs/adr/0036-stored-responses.md).
func (r *ResponsesRequest) StoreRequested() bool { return r.Store != nil && *r.Store }

// Continue prepends a previous response's conversation (its input and
// output as chat messages) to the request's input. The previous request's
// instructions are not carried over, as at OpenAI: only this request's.
func (r *ResponsesRequest) Continue(prev []Message) {
	r.input = append(append(make([]Message, 0, len(prev)+len(r.input)), prev...), r.input...)
}

// Conversation is the request's input as chat messages, after a previous
// response's conversation, without the instructions: what a response
// stores for a later previous_response_id.
func (r *ResponsesRequest) Conversation() []Message { return r.input }

// messages is the chat conversation: the instructions, then the input.
func (r *ResponsesRequest) messages() []Message {
	if r.Instructions == nil || *r.Instructions == "" {
		return r.input
	}
	return append([]Message{{Role: "system", Content: Content{Text: *r.Instructions, Set: true}}}, r.input...)
}

// ResponsesTool is one tool of a Responses request. Only function tools
// are served; hosted tools (web_search, file_search, ...) are refused
// naming their type.
type ResponsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponsesText is the request's and response's "text" object. Verbosity
// goes to a native upstream as sent, and on the chat path to a provider
// that takes it (ChatReasoning; ADR 0135 §2).
type ResponsesText struct {
	Format    *ResponsesFormat `json:"format,omitempty"`
	Verbosity string           `json:"verbosity,omitempty"`
}

// ResponsesFormat is text.format: the Responses API's flat form of chat's
// response_format.
type ResponsesFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// inputItem is one element of input. The Responses API's "easy" message
// form ({"role","content"}) has no type.
type inputItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Status    string          `json:"status"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments *string         `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	// a reasoning item's
	Summary          json.RawMessage `json:"summary"`
	EncryptedContent *string         `json:"encrypted_content"`
}

// SummaryText is one part of a reasoning item's summary.
type SummaryText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// includable are the values of a Responses request's include. Rampart has
// none of the hosted tools' or image inputs' items they ask for, so those
// add nothing here; reasoning.encrypted_content and
// message.output_text.logprobs go to a native upstream, and logprobs are
// refused on the chat path (CheckChatPath).
var includable = map[string]bool{
	"reasoning.encrypted_content": true, "message.output_text.logprobs": true,
	"file_search_call.results": true, "web_search_call.results": true, "web_search_call.action.sources": true,
	"message.input_image.image_url": true, "computer_call_output.output.image_url": true, "code_interpreter_call.outputs": true,
}

// CheckChatPath refuses what a Responses request asks for that the chat
// path (a model without native Responses) cannot give: logprobs.
func (r *ResponsesRequest) CheckChatPath() error {
	for i, v := range r.Include {
		if v == "message.output_text.logprobs" {
			return apierr.InvalidCode("unsupported_value", fmt.Sprintf("include[%d]", i),
				"message.output_text.logprobs is not supported: Rampart does not serve logprobs for this model")
		}
	}
	return nil
}

// ParseResponses decodes and validates a Responses request body. Errors
// name the Responses API's parameters (input[2].content, text.format.name).
func ParseResponses(body []byte) (*ResponsesRequest, error) {
	var r ResponsesRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	switch {
	case r.Model == "":
		return nil, apierr.Invalid("model", "you must provide a model parameter")
	case r.PreviousResponseID != nil && !responseID.MatchString(*r.PreviousResponseID):
		return nil, apierr.Invalid("previous_response_id", "previous_response_id must be a response id (resp_...)")
	case r.Background != nil && *r.Background:
		return nil, apierr.InvalidCode("unsupported_parameter", "background", "background responses are not supported")
	case r.Truncation != nil && *r.Truncation != "disabled":
		return nil, apierr.InvalidCode("unsupported_parameter", "truncation", "truncation must be \"disabled\"")
	case r.MaxOutputTokens != nil && *r.MaxOutputTokens < 1:
		return nil, apierr.Invalid("max_output_tokens", "max_output_tokens must be at least 1")
	}
	for i, v := range r.Include {
		if !includable[v] {
			return nil, apierr.Invalid(fmt.Sprintf("include[%d]", i),
				"include[%d] must be one of the Responses API's includable values (reasoning.encrypted_content, message.output_text.logprobs, ...)", i)
		}
	}
	msgs, reasoning, err := inputMessages(r.Input)
	if err != nil {
		return nil, err
	}
	r.input, r.reasoning = msgs, reasoning
	for i, raw := range r.RawTools {
		p := fmt.Sprintf("tools[%d]", i)
		var peek struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &peek); err != nil {
			return nil, apierr.Invalid(p, "each tool must be an object with a type")
		}
		if peek.Type != "function" {
			return nil, apierr.InvalidCode("unsupported_value", p+".type",
				"tool type %q is not supported: only \"function\" tools (hosted tools such as web_search run at OpenAI, not here)", peek.Type)
		}
		var t ResponsesTool
		if err := decodeStrict(raw, &t); err != nil {
			if e, ok := apierr.As(err); ok && e.Param != "" {
				e.Param = p + "." + e.Param
			}
			return nil, err
		}
		if len(t.Parameters) > 0 && !isObject(t.Parameters) {
			return nil, apierr.Invalid(p+".parameters", "parameters must be a JSON Schema object")
		}
		r.Tools = append(r.Tools, t)
		if !toolName.MatchString(t.Name) {
			return nil, apierr.Invalid(p+".name", "tool names must match ^[a-zA-Z0-9_-]{1,64}$")
		}
	}
	if err := r.Text.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// inputMessages is input as chat messages, and the reasoning items that
// carry encrypted_content by the message they precede, counted from the
// end (ResponsesRequest.reasoning).
func inputMessages(raw json.RawMessage) ([]Message, map[int][]NativeItem, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, NullRaw) {
		return nil, nil, apierr.Invalid("input", "Missing required parameter: 'input'.")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, nil, apierr.Invalid("input", "input must be a string or an array of input items")
		}
		return []Message{{Role: "user", Content: Content{Text: s, Set: true}}}, nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, apierr.Invalid("input", "input must be a string or an array of input items")
	}
	switch {
	case len(items) == 0:
		return nil, nil, apierr.Invalid("input", "input must not be an empty array")
	case len(items) > MaxInputItems:
		return nil, nil, apierr.Invalid("input", "input may have at most %d items", MaxInputItems)
	}
	msgs := make([]Message, 0, len(items))
	// pending are reasoning items waiting for the message they precede;
	// before[i] those that precede msgs[i].
	var pending []NativeItem
	before := map[int][]NativeItem{}
	for i, b := range items {
		start := len(msgs)
		p := fmt.Sprintf("input[%d]", i)
		var it inputItem
		if err := json.Unmarshal(b, &it); err != nil {
			return nil, nil, apierr.Invalid(p, "each input item must be an object with a type (message, function_call, function_call_output)")
		}
		if it.Type == "reasoning" {
			r, err := reasoningItem(p, &it)
			if err != nil {
				return nil, nil, err
			}
			// Without encrypted_content a reasoning item only names
			// reasoning kept upstream, and Rampart never has the upstream
			// keep anything (store false): it is dropped, as is any
			// reasoning on the way to a chat model.
			if r.EncryptedContent != nil && *r.EncryptedContent != "" {
				pending = append(pending, r)
			}
			continue
		}
		// Consecutive calls are one assistant turn with several calls,
		// as chat expects them (unless reasoning stands between them).
		var err error
		if msgs, err = appendItem(msgs, p, &it, len(pending) == 0); err != nil {
			return nil, nil, err
		}
		if len(pending) > 0 && len(msgs) > start {
			// This item started msgs[start]: the reasoning before it
			// precedes it. Reasoning after the last item is dropped.
			before[start], pending = pending, nil
		}
	}
	if len(before) == 0 {
		return msgs, nil, nil
	}
	reasoning := make(map[int][]NativeItem, len(before))
	for i, items := range before {
		reasoning[len(msgs)-i] = items
	}
	return msgs, reasoning, nil
}

// reasoningItem validates a reasoning input item (a reasoning model's
// output item sent back): its id, its summary of summary_text parts and
// its encrypted_content, the only fields it keeps.
func reasoningItem(p string, it *inputItem) (NativeItem, error) {
	if it.ID == "" {
		return NativeItem{}, apierr.Invalid(p+".id", "Missing required parameter: '%s.id'.", p)
	}
	if len(bytes.TrimSpace(it.Summary)) == 0 || bytes.Equal(bytes.TrimSpace(it.Summary), NullRaw) {
		return NativeItem{}, apierr.Invalid(p+".summary", "Missing required parameter: '%s.summary'.", p)
	}
	var parts []SummaryText
	if err := json.Unmarshal(it.Summary, &parts); err != nil {
		return NativeItem{}, apierr.Invalid(p+".summary", "%s.summary must be an array of summary_text parts", p)
	}
	for j, part := range parts {
		if part.Type != "summary_text" {
			return NativeItem{}, apierr.Invalid(fmt.Sprintf("%s.summary[%d].type", p, j), "summary parts must be of type summary_text")
		}
	}
	return NativeItem{Type: "reasoning", ID: it.ID, Summary: &parts, EncryptedContent: it.EncryptedContent}, nil
}

// appendItem appends a message, function_call or function_call_output
// input item to msgs as chat has it; a function call joins the assistant
// turn of calls before it when merge is set.
func appendItem(msgs []Message, p string, it *inputItem, merge bool) ([]Message, error) {
	switch it.Type {
	case "", "message":
		m, err := itemMessage(p, it)
		if err != nil {
			return nil, err
		}
		return append(msgs, m), nil
	case "function_call":
		if it.CallID == "" {
			return nil, apierr.Invalid(p+".call_id", "Missing required parameter: '%s.call_id'.", p)
		}
		if !toolName.MatchString(it.Name) {
			return nil, apierr.Invalid(p+".name", "function names must match ^[a-zA-Z0-9_-]{1,64}$")
		}
		if it.Arguments == nil {
			return nil, apierr.Invalid(p+".arguments", "Missing required parameter: '%s.arguments'.", p)
		}
		tc := ToolCall{ID: it.CallID, Type: "function", Function: ToolCallFunction{Name: it.Name, Arguments: *it.Arguments}}
		if n := len(msgs); merge && n > 0 && msgs[n-1].Role == "assistant" && len(msgs[n-1].ToolCalls) > 0 {
			msgs[n-1].ToolCalls = append(msgs[n-1].ToolCalls, tc)
			return msgs, nil
		}
		return append(msgs, Message{Role: "assistant", Content: Content{Null: true, Set: true}, ToolCalls: []ToolCall{tc}}), nil
	case "function_call_output":
		if it.CallID == "" {
			return nil, apierr.Invalid(p+".call_id", "Missing required parameter: '%s.call_id'.", p)
		}
		out, err := contentText(p+".output", it.Output)
		if err != nil {
			return nil, err
		}
		return append(msgs, Message{Role: "tool", ToolCallID: it.CallID, Content: Content{Text: out, Set: true}}), nil
	default:
		return nil, apierr.InvalidCode("unsupported_value", p+".type",
			"input item type %q is not supported: only message, function_call, function_call_output and reasoning", it.Type)
	}
}

var inputRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true}

func itemMessage(p string, it *inputItem) (Message, error) {
	if !inputRoles[it.Role] {
		return Message{}, apierr.Invalid(p+".role", "role must be one of user, assistant, system, developer")
	}
	text, err := contentText(p+".content", it.Content)
	if err != nil {
		return Message{}, err
	}
	return Message{Role: it.Role, Content: Content{Text: text, Set: true}}, nil
}

// contentText flattens a message's content (a string or an array of
// input_text / output_text parts) or a function_call_output's output to
// text; other part types (images, files, audio) are refused naming the part.
func contentText(p string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, NullRaw) {
		return "", apierr.Invalid(p, "Missing required parameter: '%s'.", p)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", apierr.Invalid(p, "%s must be a string or an array of text parts", p)
		}
		return s, nil
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", apierr.Invalid(p, "%s must be a string or an array of text parts", p)
	}
	texts := make([]string, 0, len(parts))
	for j, part := range parts {
		q := fmt.Sprintf("%s[%d]", p, j)
		switch part.Type {
		case "input_text", "output_text", "text":
		default:
			return "", apierr.InvalidCode("unsupported_value", q+".type",
				"content part type %q is not supported: only input_text and output_text", part.Type)
		}
		if part.Text == nil {
			return "", apierr.Invalid(q+".text", "Missing required parameter: '%s.text'.", q)
		}
		texts = append(texts, *part.Text)
	}
	return strings.Join(texts, "\n"), nil
}

func (t *ResponsesText) validate() error {
	if t == nil || t.Format == nil {
		return nil
	}
	f := t.Format
	switch f.Type {
	case "text", "json_object":
	case "json_schema":
		if !toolName.MatchString(f.Name) {
			return apierr.Invalid("text.format.name", "text.format.name must match ^[a-zA-Z0-9_-]{1,64}$")
		}
		if !isObject(f.Schema) {
			return apierr.Invalid("text.format.schema", "text.format.schema must be a JSON Schema object")
		}
	default:
		return apierr.Invalid("text.format.type", "text.format.type must be \"text\", \"json_object\" or \"json_schema\"")
	}
	return nil
}

// ToChat returns the chat request body the Responses request maps to.
// Streaming asks for usage, which response.completed carries.
func (r *ResponsesRequest) ToChat() ([]byte, error) {
	c := ChatRequest{
		Model: r.Model, Messages: r.messages(), Temperature: r.Temperature, TopP: r.TopP,
		MaxCompletionTokens: r.MaxOutputTokens, Stream: r.Stream, User: r.User,
		ParallelToolCalls: r.ParallelToolCalls, Rampart: r.Rampart,
	}
	if r.Stream {
		c.StreamOptions = &StreamOptions{IncludeUsage: true}
	}
	if r.ChatReasoning {
		c.ReasoningEffort = r.ReasoningEffort()
		if r.Text != nil {
			c.Verbosity = r.Text.Verbosity
		}
	}
	for _, t := range r.Tools {
		c.Tools = append(c.Tools, Tool{Type: "function", Function: ToolFunction{
			Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
	}
	if len(r.ToolChoice) > 0 && !bytes.Equal(r.ToolChoice, NullRaw) {
		tc, err := r.chatToolChoice()
		if err != nil {
			return nil, err
		}
		c.ToolChoice = tc
	}
	if r.Text != nil && r.Text.Format != nil {
		f := r.Text.Format
		c.ResponseFormat = &ResponseFormat{Type: f.Type}
		if f.Type == "json_schema" {
			c.ResponseFormat.JSONSchema = &JSONSchema{Name: f.Name, Description: f.Description, Schema: f.Schema, Strict: f.Strict}
		}
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode chat request: %w", err)
	}
	return b, nil
}

// chatToolChoice maps tool_choice ("none", "auto", "required" or
// {"type":"function","name":...}) to chat's form.
func (r *ResponsesRequest) chatToolChoice() (json.RawMessage, error) {
	var s string
	if json.Unmarshal(r.ToolChoice, &s) == nil {
		switch s {
		case "none", "auto", "required":
			return r.ToolChoice, nil
		}
		return nil, apierr.Invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\":\"function\",\"name\":...}")
	}
	var obj struct {
		Type  string `json:"type"`
		Name  string `json:"name"`
		Mode  string `json:"mode"`
		Tools []struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(r.ToolChoice, &obj); err == nil && obj.Type == "allowed_tools" {
		return r.allowedTools(obj.Mode, len(obj.Tools), func(i int) (string, string) { return obj.Tools[i].Type, obj.Tools[i].Name })
	}
	if err := json.Unmarshal(r.ToolChoice, &obj); err != nil || obj.Type != "function" || obj.Name == "" {
		return nil, apierr.Invalid("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\", {\"type\":\"function\",\"name\":...} or {\"type\":\"allowed_tools\",...} (hosted tools are not supported)")
	}
	b, err := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": obj.Name}})
	if err != nil {
		return nil, fmt.Errorf("encode tool_choice: %w", err)
	}
	return b, nil
}

// allowedTools maps tool_choice {"type":"allowed_tools","mode","tools":
// [{"type":"function","name"}]} to chat's allowed_tools form, which
// ParseChat serves (ADR 0135 §4); its faults are named by their paths
// here, which chat's would not be.
func (r *ResponsesRequest) allowedTools(mode string, n int, tool func(int) (typ, name string)) (json.RawMessage, error) {
	if mode != "auto" && mode != "required" {
		return nil, apierr.Invalid("tool_choice.mode", "tool_choice.mode must be \"auto\" or \"required\"")
	}
	if n == 0 {
		return nil, apierr.Invalid("tool_choice.tools", "tool_choice.tools must name at least one tool")
	}
	names := make(map[string]bool, len(r.Tools))
	for _, t := range r.Tools {
		names[t.Name] = true
	}
	type fn struct {
		Name string `json:"name"`
	}
	type allowed struct {
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	tools := make([]allowed, n)
	for i := range n {
		typ, name := tool(i)
		if typ != "function" {
			return nil, apierr.InvalidCode("unsupported_value", indexed("tool_choice.tools", i)+".type", "only function tools can be allowed (tools of type %q are not supported)", typ)
		}
		if !names[name] {
			return nil, apierr.Invalid(indexed("tool_choice.tools", i)+".name", "tool_choice.tools names the unknown tool %q", name)
		}
		tools[i] = allowed{Type: "function", Function: fn{Name: name}}
	}
	b, err := json.Marshal(map[string]any{"type": "allowed_tools", "allowed_tools": map[string]any{"mode": mode, "tools": tools}})
	if err != nil {
		return nil, fmt.Errorf("encode tool_choice: %w", err)
	}
	return b, nil
}

// ChatParam renames a parameter path of the chat request ToChat built to
// the Responses request's: an error the chat path raises names what the
// client sent.
func ChatParam(p string) string {
	for _, m := range chatParams {
		if rest, ok := strings.CutPrefix(p, m.chat); ok {
			return m.responses + rest
		}
	}
	return p
}

var chatParams = []struct{ chat, responses string }{
	{"messages", "input"},
	{"max_completion_tokens", "max_output_tokens"},
	{"response_format.json_schema.schema", "text.format.schema"},
	{"response_format.json_schema.name", "text.format.name"},
	{"response_format.json_schema", "text.format"},
	{"response_format", "text.format"},
	{"stream_options", "stream"},
	{"reasoning_effort", "reasoning.effort"},
	{"verbosity", "text.verbosity"},
}

// ReasoningEffort is reasoning.effort, or "" (absent or not a string).
func (r *ResponsesRequest) ReasoningEffort() string {
	var v struct {
		Effort string `json:"effort"`
	}
	if len(r.Reasoning) == 0 || json.Unmarshal(r.Reasoning, &v) != nil {
		return ""
	}
	return v.Effort
}

// Response is a Responses API response object.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Error              json.RawMessage    `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []OutputItem       `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Temperature        *float64           `json:"temperature"`
	TopP               *float64           `json:"top_p"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []ResponsesTool    `json:"tools"`
	Text               ResponsesText      `json:"text"`
	Truncation         string             `json:"truncation"`
	Usage              *ResponsesUsage    `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
	Store              bool               `json:"store"`
	Rampart            *Extension         `json:"rampart,omitempty"`
}

// IncompleteDetails says why a response is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// OutputItem is one item of a response's output: a message or a function
// call.
type OutputItem struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Status string `json:"status"`
	// message
	Role    string        `json:"role,omitempty"`
	Content []ContentPart `json:"content,omitempty"`
	// function_call
	CallID    string  `json:"call_id,omitempty"`
	Name      string  `json:"name,omitempty"`
	Arguments *string `json:"arguments,omitempty"`

	// Raw is the item as an upstream's own Responses API sent it (native
	// pass-through): written back unchanged, so item types and fields
	// Rampart does not model (reasoning, annotations) reach the client.
	Raw json.RawMessage `json:"-"`
}

// MarshalJSON keeps a message's content an array even when empty (the
// in-progress item of a stream).
func (o OutputItem) MarshalJSON() ([]byte, error) {
	if o.Raw != nil {
		return o.Raw, nil
	}
	type plain OutputItem
	if o.Type != "message" {
		return json.Marshal(plain(o))
	}
	content := o.Content
	if content == nil {
		content = []ContentPart{}
	}
	return json.Marshal(struct {
		Type    string        `json:"type"`
		ID      string        `json:"id"`
		Status  string        `json:"status"`
		Role    string        `json:"role"`
		Content []ContentPart `json:"content"`
	}{o.Type, o.ID, o.Status, o.Role, content})
}

// ContentPart is one part of an output message: output_text or refusal.
type ContentPart struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	Annotations []any  `json:"annotations"`
	Refusal     string `json:"refusal,omitempty"`
}

// MarshalJSON writes output_text with its (possibly empty) text and no
// refusal, refusal without text and annotations.
func (c ContentPart) MarshalJSON() ([]byte, error) {
	if c.Type == "refusal" {
		return json.Marshal(struct {
			Type    string `json:"type"`
			Refusal string `json:"refusal"`
		}{c.Type, c.Refusal})
	}
	ann := c.Annotations
	if ann == nil {
		ann = []any{}
	}
	return json.Marshal(struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Annotations []any  `json:"annotations"`
		Logprobs    []any  `json:"logprobs"`
	}{c.Type, c.Text, ann, []any{}})
}

// ResponsesUsage is a response's token usage.
type ResponsesUsage struct {
	InputTokens         int          `json:"input_tokens"`
	InputTokensDetails  CachedTokens `json:"input_tokens_details"`
	OutputTokens        int          `json:"output_tokens"`
	OutputTokensDetails ReasonTokens `json:"output_tokens_details"`
	TotalTokens         int          `json:"total_tokens"`
}

// CachedTokens is input_tokens_details.
type CachedTokens struct {
	CachedTokens int `json:"cached_tokens"`
}

// ReasonTokens is output_tokens_details.
type ReasonTokens struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ResponsesUsageOf converts chat usage, the upstream's cached and
// reasoning tokens included (ADR 0117).
func ResponsesUsageOf(u *Usage) *ResponsesUsage {
	if u == nil {
		return nil
	}
	out := &ResponsesUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.InputTokensDetails.CachedTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.OutputTokensDetails.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// NewResponse returns the response object for r, in progress and without
// output: what response.created carries, and what the final object fills.
func (r *ResponsesRequest) NewResponse(id string, created int64) *Response {
	resp := &Response{
		ID: id, Object: "response", CreatedAt: created, Status: "in_progress", Error: NullRaw,
		Instructions: r.Instructions, MaxOutputTokens: r.MaxOutputTokens, Model: r.Model, Output: []OutputItem{},
		ParallelToolCalls: r.ParallelToolCalls == nil || *r.ParallelToolCalls, Temperature: r.Temperature, TopP: r.TopP,
		ToolChoice: r.ToolChoice, Tools: r.Tools, Truncation: "disabled", Metadata: r.Metadata,
		PreviousResponseID: r.PreviousResponseID, Store: r.StoreRequested(),
	}
	if len(resp.ToolChoice) == 0 || bytes.Equal(resp.ToolChoice, NullRaw) {
		resp.ToolChoice = json.RawMessage(`"auto"`)
	}
	if resp.Tools == nil {
		resp.Tools = []ResponsesTool{}
	}
	if resp.Metadata == nil {
		resp.Metadata = map[string]string{}
	}
	if r.User != "" {
		resp.User = &r.User
	}
	resp.Text.Format = &ResponsesFormat{Type: "text"}
	if r.Text != nil && r.Text.Format != nil {
		resp.Text.Format = r.Text.Format
	}
	if r.Text != nil {
		resp.Text.Verbosity = r.Text.Verbosity
	}
	return resp
}

// Finish sets the status from chat's finish reason: "length" and
// "content_filter" make the response incomplete, as OpenAI reports them.
func (resp *Response) Finish(finishReason string) {
	switch finishReason {
	case "length":
		resp.Status, resp.IncompleteDetails = "incomplete", &IncompleteDetails{Reason: "max_output_tokens"}
	case "content_filter":
		resp.Status, resp.IncompleteDetails = "incomplete", &IncompleteDetails{Reason: "content_filter"}
	default:
		resp.Status = "completed"
	}
}
