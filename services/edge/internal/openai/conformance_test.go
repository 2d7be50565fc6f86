package openai_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

func sdk(s *stack, key string) *oai.Client {
	c := oai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestSDKChat(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
				Model:       model,
				Messages:    []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be terse"), oai.UserMessage("hello world")},
				Temperature: oai.Float(0.2),
				MaxTokens:   oai.Int(100),
				Seed:        oai.Int(7),
				User:        oai.String("end-user-1"),
			})
			require.NoError(t, err)
			require.Equal(t, model, resp.Model)
			require.Equal(t, "hello world", resp.Choices[0].Message.Content)
			require.Equal(t, "stop", resp.Choices[0].FinishReason)
			require.Positive(t, resp.Usage.TotalTokens)
			require.True(t, strings.HasPrefix(resp.ID, "chatcmpl-"))
		})
	}
}

func TestSDKStreamingWithUsage(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			stream := c.Chat.Completions.NewStreaming(ctx(t), oai.ChatCompletionNewParams{
				Model:         model,
				Messages:      []oai.ChatCompletionMessageParamUnion{oai.UserMessage("stream me these words")},
				StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
			})
			acc := oai.ChatCompletionAccumulator{}
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			require.NoError(t, stream.Err())
			require.Greater(t, chunks, 3)
			require.Equal(t, "stream me these words", acc.Choices[0].Message.Content)
			require.Equal(t, "stop", acc.Choices[0].FinishReason)
			require.Positive(t, acc.Usage.TotalTokens)
		})
	}
}

func weatherTool() []oai.ChatCompletionToolUnionParam {
	return []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: oai.String("weather by city"),
		Parameters:  oai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})}
}

func TestSDKTools(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
				Model:    model,
				Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(`call:get_weather {"city":"Paris"}`)},
				Tools:    weatherTool(),
			})
			require.NoError(t, err)
			require.Equal(t, "tool_calls", resp.Choices[0].FinishReason)
			tc := resp.Choices[0].Message.ToolCalls
			require.Len(t, tc, 1)
			require.Equal(t, "get_weather", tc[0].Function.Name)
			require.JSONEq(t, `{"city":"Paris"}`, tc[0].Function.Arguments)

			// The tool result goes back in; the conversation continues.
			resp, err = c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
				Model: model,
				Messages: []oai.ChatCompletionMessageParamUnion{
					oai.UserMessage("weather?"),
					resp.Choices[0].Message.ToParam(),
					oai.ToolMessage("18C", tc[0].ID),
					oai.UserMessage("thanks"),
				},
				Tools: weatherTool(),
			})
			require.NoError(t, err)
			require.Equal(t, "thanks", resp.Choices[0].Message.Content)

			// Streaming tool calls arrive whole, after the policy check.
			stream := c.Chat.Completions.NewStreaming(ctx(t), oai.ChatCompletionNewParams{
				Model:    model,
				Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(`call:get_weather {"city":"Oslo"}`)},
				Tools:    weatherTool(),
			})
			acc := oai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			require.NoError(t, stream.Err())
			require.Equal(t, "tool_calls", acc.Choices[0].FinishReason)
			require.JSONEq(t, `{"city":"Oslo"}`, acc.Choices[0].Message.ToolCalls[0].Function.Arguments)
		})
	}
}

func TestSDKEmbeddings(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	resp, err := c.Embeddings.New(ctx(t), oai.EmbeddingNewParams{
		Model:      "rampart-hash-embed",
		Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha beta", "gamma"}},
		Dimensions: oai.Int(32),
	})
	require.NoError(t, err)
	require.Len(t, resp.Data, 2)
	require.Len(t, resp.Data[0].Embedding, 32)
	require.Equal(t, int64(1), resp.Data[1].Index)

	resp, err = c.Embeddings.New(ctx(t), oai.EmbeddingNewParams{
		Model: "text-embedding-fake",
		Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("abcd")},
	})
	require.NoError(t, err)
	require.Equal(t, []float64{4, 0.5, 0.25}, resp.Data[0].Embedding)

	// base64: little-endian float32, as OpenAI sends it.
	body := post(t, s, "key-a", "/v1/embeddings", `{"model":"rampart-hash-embed","input":"alpha","encoding_format":"base64","dimensions":8}`)
	var b64 struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body.bytes, &b64))
	raw, err := base64.StdEncoding.DecodeString(b64.Data[0].Embedding)
	require.NoError(t, err)
	require.Len(t, raw, 32)
}

func TestSDKModels(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.AddKey(t, "key-narrow", &authv1.Principal{TenantId: "t1", KeyId: "kn", AllowedModels: []string{"echo"}})
	page, err := sdk(s, "key-a").Models.List(ctx(t))
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		require.Equal(t, "model", string(m.Object))
	}
	require.Equal(t, []string{"echo", "gpt-fake", "gpt-native", "rampart-extractive", "rampart-hash-embed", "text-embedding-fake"}, ids)

	page, err = sdk(s, "key-narrow").Models.List(ctx(t))
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	m, err := sdk(s, "key-a").Models.Get(ctx(t), "gpt-fake")
	require.NoError(t, err)
	require.Equal(t, "fake", m.OwnedBy)
	_, err = sdk(s, "key-narrow").Models.Get(ctx(t), "gpt-fake")
	requireAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
}

func requireAPIError(t *testing.T, err error, status int, typ, code, param string) {
	t.Helper()
	_ = checkAPIError(t, err, status, typ, code, param)
}

// checkAPIError is requireAPIError returning the error for more checks. It
// asserts OpenAI's exact error shape: status, type, code and param.
func checkAPIError(t *testing.T, err error, status int, typ, code, param string) *oai.Error {
	t.Helper()
	var apiErr *oai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, status, apiErr.StatusCode, apiErr.Message)
	require.Equal(t, typ, apiErr.Type, apiErr.Message)
	require.Equal(t, code, apiErr.Code)
	require.Equal(t, param, apiErr.Param)
	require.NotEmpty(t, apiErr.Message)
	return apiErr
}

func TestSDKErrors(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.AddKey(t, "key-narrow", &authv1.Principal{TenantId: "t1", KeyId: "kn", AllowedModels: []string{"echo"}})
	s.AddKey(t, "key-tpm", &authv1.Principal{TenantId: "t2", KeyId: "kt", Limits: &authv1.Limits{TokensPerMinute: 5}})
	s.AddKey(t, "key-budget", &authv1.Principal{TenantId: "t3", KeyId: "kb", Limits: &authv1.Limits{MonthlyTokenBudget: 1}})
	user := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hello there, a message of some length")}

	_, err := sdk(s, "key-a").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "gpt-99", Messages: user})
	requireAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")

	_, err = sdk(s, "key-narrow").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "gpt-fake", Messages: user})
	requireAPIError(t, err, http.StatusForbidden, "invalid_request_error", "model_not_allowed", "model")

	_, err = sdk(s, "key-a").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user, N: oai.Int(2)})
	requireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "invalid_argument", "n")

	_, err = sdk(s, "unknown-key").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	requireAPIError(t, err, http.StatusUnauthorized, "authentication_error", "missing_api_key", "")

	// TPM: the first call spends more than the limit; the next is refused.
	_, err = sdk(s, "key-tpm").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	require.NoError(t, err)
	_, err = sdk(s, "key-tpm").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	apiErr := checkAPIError(t, err, http.StatusTooManyRequests, "tokens", "rate_limit_exceeded", "")
	require.NotEmpty(t, apiErr.Response.Header.Get("Retry-After"))

	_, err = sdk(s, "key-budget").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	require.NoError(t, err)
	_, err = sdk(s, "key-budget").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	requireAPIError(t, err, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "")

	// Disallowed tool definitions are refused before anything runs.
	_, err = sdk(s, "key-a").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user,
		Tools: []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "rm_rf"})}})
	requireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "tool_not_allowed", "tools[0].function.name")

	// Streaming errors before the first chunk are plain HTTP errors.
	stream := sdk(s, "key-a").Chat.Completions.NewStreaming(ctx(t), oai.ChatCompletionNewParams{Model: "gpt-99", Messages: user})
	for stream.Next() {
	}
	requireAPIError(t, stream.Err(), http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
}

type response struct {
	status int
	header http.Header
	bytes  []byte
}

func post(t *testing.T, s *stack, key, path, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, bytes: b}
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

func TestBadInput(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	big := `{"model":"echo","messages":[{"role":"user","content":"` + strings.Repeat("x", 4<<20) + `"}]}`
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		param  string
	}{
		{"malformed json", "/v1/chat/completions", `{"model":"echo",`, 400, ""},
		{"array body", "/v1/chat/completions", `[]`, 400, ""},
		{"wrong type", "/v1/chat/completions", `{"model":"echo","messages":"hi"}`, 400, "messages"},
		{"stream not bool", "/v1/chat/completions", `{"model":"echo","stream":"yes","messages":[]}`, 400, "stream"},
		{"empty messages", "/v1/chat/completions", `{"model":"echo","messages":[]}`, 400, "messages"},
		{"unsupported parameter", "/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"x"}],"best_of":3}`, 400, "best_of"},
		{"n>1", "/v1/chat/completions", `{"model":"echo","n":3,"messages":[{"role":"user","content":"x"}]}`, 400, "n"},
		{"unknown model", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "model"},
		{"body over 4 MiB", "/v1/chat/completions", big, 413, ""},
		{"embeddings bad format", "/v1/embeddings", `{"model":"rampart-hash-embed","input":"x","encoding_format":"hex"}`, 400, "encoding_format"},
		{"embeddings empty", "/v1/embeddings", `{"model":"rampart-hash-embed","input":[]}`, 400, "input"},
		// Invalid UTF-8 (issue 10): encoding/json would turn it into U+FFFD.
		{"chat invalid UTF-8", "/v1/chat/completions", "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", 400, ""},
		{"streaming chat invalid UTF-8", "/v1/chat/completions", "{\"model\":\"echo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", 400, ""},
		{"embeddings invalid UTF-8", "/v1/embeddings", "{\"model\":\"rampart-hash-embed\",\"input\":\"x\xc3\"}", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, "key-a", tt.path, tt.body)
			require.Equal(t, tt.status, r.status, string(r.bytes))
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			var e errorBody
			require.NoError(t, json.Unmarshal(r.bytes, &e), string(r.bytes))
			require.NotEmpty(t, e.Error.Message)
			// OpenAI answers every client mistake here, 404 model_not_found
			// and 413 included, with type invalid_request_error.
			require.Equal(t, "invalid_request_error", e.Error.Type)
			require.NotEmpty(t, e.Error.Code)
			if tt.param == "" {
				require.Nil(t, e.Error.Param)
			} else {
				require.NotNil(t, e.Error.Param)
				require.Equal(t, tt.param, *e.Error.Param)
			}
		})
	}
}

func TestNoSecretsInResponses(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.Upstream.FailNext(1, http.StatusUnauthorized)
	r := post(t, s, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	var e errorBody
	require.NoError(t, json.Unmarshal(r.bytes, &e))
	require.Equal(t, "server_error", e.Error.Type)
	require.Equal(t, "upstream_unavailable", e.Error.Code)
	require.NotContains(t, string(r.bytes), "sk-upstream-secret")
	require.NotContains(t, string(r.bytes), "127.0.0.1")
}

var _ = bytes.NewReader

// The Responses API with openai-go: text, a function tool round trip, a
// json_schema text format, and the stream's events in order with usage,
// for a local model and one behind an OpenAI-compatible upstream (both
// through inference's mapping onto chat), and one whose upstream serves the
// Responses API itself (native pass-through, ADR 0040).
func TestSDKResponses(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	weather := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather", Strict: oai.Bool(false),
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"echo", "gpt-fake", "gpt-native"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: model, Instructions: oai.String("be terse"),
				Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("hello responses")}})
			require.NoError(t, err)
			require.Equal(t, "hello responses", resp.OutputText())
			require.Equal(t, responses.ResponseStatusCompleted, resp.Status)
			require.Positive(t, resp.Usage.TotalTokens)

			input := responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage(`call:get_weather {"city":"Oslo"}`, responses.EasyInputMessageRoleUser)}
			call, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{weather},
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			require.NoError(t, err)
			require.Len(t, call.Output, 1)
			fc := call.Output[0]
			require.Equal(t, "function_call", fc.Type)
			require.Equal(t, "get_weather", fc.Name)
			require.JSONEq(t, `{"city":"Oslo"}`, fc.Arguments.OfString)
			out := responses.ResponseInputItemParamOfFunctionCallOutput("4 C")
			out.OfFunctionCallOutput.CallID = oai.String(fc.CallID)
			input = append(input, responses.ResponseInputItemParamOfFunctionCall(fc.Arguments.OfString, fc.CallID, fc.Name), out,
				responses.ResponseInputItemParamOfMessage("thanks", responses.EasyInputMessageRoleUser))
			after, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{weather},
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			require.NoError(t, err)
			require.Equal(t, "thanks", after.OutputText())

			stream := c.Responses.NewStreaming(ctx(t), responses.ResponseNewParams{Model: model,
				Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("stream these words")}})
			var types []string
			text := ""
			var final responses.Response
			for stream.Next() {
				ev := stream.Current()
				require.Equal(t, int64(len(types)), ev.SequenceNumber)
				types = append(types, ev.Type)
				if ev.Type == "response.output_text.delta" {
					text += ev.Delta
				}
				if ev.Type == "response.completed" {
					final = ev.AsResponseCompleted().Response
				}
			}
			require.NoError(t, stream.Err())
			require.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}, types[:4])
			require.Equal(t, "response.completed", types[len(types)-1])
			require.Equal(t, "stream these words", text)
			require.Equal(t, "stream these words", final.OutputText())
			require.Positive(t, final.Usage.TotalTokens)
		})
	}
	t.Run("native: the upstream's Responses API, reasoning items passed through", func(t *testing.T) {
		resp, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: "gpt-native",
			Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow},
			Input:     responses.ResponseNewParamsInputUnion{OfString: oai.String("think first")}})
		require.NoError(t, err)
		require.Len(t, resp.Output, 2)
		require.Equal(t, "reasoning", resp.Output[0].Type)
		require.Equal(t, "thought about it", resp.Output[0].Summary[0].Text)
		require.Equal(t, "think first", resp.OutputText())
		require.Equal(t, "gpt-native", resp.Model)
		var up struct {
			Model string `json:"model"`
			Store *bool  `json:"store"`
			Input []any  `json:"input"`
		}
		require.NoError(t, json.Unmarshal(s.Upstream.LastBody(), &up))
		require.Equal(t, "gpt-4.1", up.Model, "the upstream's model name")
		require.NotNil(t, up.Store)
		require.False(t, *up.Store)
		require.NotEmpty(t, up.Input, "sent to /responses, not /chat/completions")

		stream := c.Responses.NewStreaming(ctx(t), responses.ResponseNewParams{Model: "gpt-native",
			Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow},
			Input:     responses.ResponseNewParamsInputUnion{OfString: oai.String("think while streaming")}})
		var summary string
		var final responses.Response
		for stream.Next() {
			ev := stream.Current()
			if ev.Type == "response.reasoning_summary_text.delta" {
				summary += ev.Delta
			}
			if ev.Type == "response.completed" {
				final = ev.AsResponseCompleted().Response
			}
		}
		require.NoError(t, stream.Err())
		require.Equal(t, "thought about it", summary)
		require.Equal(t, "think while streaming", final.OutputText())
		require.Equal(t, int64(2+3), final.Usage.OutputTokens, "the upstream's usage")

		// An upstream 400 reaches the client as OpenAI's error body with the
		// upstream's message and param; a failure mid-stream as an error event.
		_, err = c.Responses.New(ctx(t), responses.ResponseNewParams{Model: "gpt-native",
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("badparam")}})
		var apiErr *oai.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		require.Equal(t, "temperature", apiErr.Param)
		require.Equal(t, "invalid_request_error", apiErr.Type)
		require.Contains(t, apiErr.Message, "must be at most 2")
		broken := c.Responses.NewStreaming(ctx(t), responses.ResponseNewParams{Model: "gpt-native",
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("errorevent")}})
		var last responses.ResponseStreamEventUnion
		for broken.Next() {
			last = broken.Current()
		}
		require.NoError(t, broken.Err(), "OpenAI's error event is an event of the stream for the SDK")
		require.Equal(t, "error", last.Type)
		require.NotContains(t, last.RawJSON(), "org-fake-secret")
	})
	t.Run("json_schema text format", func(t *testing.T) {
		format := responses.ResponseFormatTextConfigParamOfJSONSchema("person", map[string]any{"type": "object",
			"properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}, "additionalProperties": false})
		resp, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo", Text: responses.ResponseTextConfigParam{Format: format},
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("Ada")}})
		require.NoError(t, err)
		var person map[string]string
		require.NoError(t, json.Unmarshal([]byte(resp.OutputText()), &person))
		require.Contains(t, person["name"], "Ada")
	})
	t.Run("a hosted tool is refused naming it", func(t *testing.T) {
		_, err := c.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo",
			Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("x")}})
		var apiErr *oai.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		require.Equal(t, "tools[0].type", apiErr.Param)
	})
}
