package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

const responsesFormat = inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES

type responseObject struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Status            string `json:"status"`
	Model             string `json:"model"`
	Store             bool   `json:"store"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type    string `json:"type"`
		ID      string `json:"id"`
		Status  string `json:"status"`
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"output"`
	Usage *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (e *env) response(t *testing.T, body string) responseObject {
	t.Helper()
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
	require.NoError(t, err)
	var r responseObject
	require.NoError(t, json.Unmarshal(resp.GetBody(), &r), "%s", resp.GetBody())
	require.Equal(t, "response", r.Object)
	require.Regexp(t, `^resp_`, r.ID)
	require.False(t, r.Store, "nothing is stored")
	return r
}

func TestResponses(t *testing.T) {
	e := newEnv(t)
	t.Run("string input", func(t *testing.T) {
		r := e.response(t, `{"model":"echo","input":"Say this is a test"}`)
		require.Equal(t, "completed", r.Status)
		require.Len(t, r.Output, 1)
		require.Equal(t, "message", r.Output[0].Type)
		require.Equal(t, "assistant", r.Output[0].Role)
		require.Equal(t, "output_text", r.Output[0].Content[0].Type)
		require.Equal(t, "Say this is a test", r.Output[0].Content[0].Text)
		require.Positive(t, r.Usage.InputTokens)
		require.Equal(t, r.Usage.InputTokens+r.Usage.OutputTokens, r.Usage.TotalTokens)
	})
	t.Run("item input with instructions: the last user message answers", func(t *testing.T) {
		r := e.response(t, `{"model":"echo","instructions":"be brief","input":[
			{"role":"user","content":"first"},
			{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok","annotations":[]}]},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"second"}]}]}`)
		require.Equal(t, "second", r.Output[0].Content[0].Text)
	})
	t.Run("max_output_tokens cut: incomplete", func(t *testing.T) {
		r := e.response(t, `{"model":"echo","input":"one two three four five six seven eight nine ten eleven twelve","max_output_tokens":1}`)
		require.Equal(t, "incomplete", r.Status)
		require.Equal(t, "max_output_tokens", r.IncompleteDetails.Reason)
	})
	t.Run("function tool forced, then its output round trip", func(t *testing.T) {
		r := e.response(t, `{"model":"echo","input":"Paris","tools":[{"type":"function","name":"get_weather",
			"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
			"tool_choice":{"type":"function","name":"get_weather"}}`)
		require.Len(t, r.Output, 1)
		call := r.Output[0]
		require.Equal(t, "function_call", call.Type)
		require.Equal(t, "get_weather", call.Name)
		require.NotEmpty(t, call.CallID)
		var args map[string]string
		require.NoError(t, json.Unmarshal([]byte(call.Arguments), &args))
		require.Equal(t, "Paris", args["city"])

		next := e.response(t, `{"model":"echo","input":[{"role":"user","content":"Paris"},
			{"type":"function_call","call_id":`+quote(call.CallID)+`,"name":"get_weather","arguments":`+quote(call.Arguments)+`},
			{"type":"function_call_output","call_id":`+quote(call.CallID)+`,"output":"sunny"},
			{"role":"user","content":"thanks"}],
			"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`)
		require.Equal(t, "message", next.Output[0].Type)
		require.Equal(t, "thanks", next.Output[0].Content[0].Text)
	})
	t.Run("text.format json_schema: a schema-valid object", func(t *testing.T) {
		r := e.response(t, `{"model":"echo","input":"Ada","text":{"format":{"type":"json_schema","name":"person","strict":true,
			"schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}}}}`)
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.Output[0].Content[0].Text), &obj))
		require.Contains(t, obj, "name")
		require.Contains(t, obj, "age")
	})
}

func TestStreamResponses(t *testing.T) {
	e := newEnv(t)
	p := principalFor("t1", "k1", func(p *authv1.Principal) { p.Limits.TokensPerMinute = 100000 })
	st, err := e.client.StreamChatCompletion(e.ctx(t, p), &inferencev1.StreamChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"echo","input":"one two three","stream":true}`)})
	require.NoError(t, err)
	var types []string
	text := ""
	var final responseObject
	for i := 0; ; i++ {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var ev struct {
			Type           string          `json:"type"`
			SequenceNumber int             `json:"sequence_number"`
			Delta          string          `json:"delta"`
			Response       json.RawMessage `json:"response"`
			Logprobs       json.RawMessage `json:"logprobs"`
		}
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &ev))
		switch ev.Type {
		case "response.output_text.delta", "response.output_text.done":
			require.JSONEq(t, `[]`, string(ev.Logprobs), "OpenAI's text events carry logprobs: []")
		default:
			require.Nil(t, ev.Logprobs, "%s has no logprobs", ev.Type)
		}
		require.Equal(t, ev.Type, msg.GetEvent(), "the SSE event name is the event's type")
		require.Equal(t, i, ev.SequenceNumber)
		if i == 0 {
			require.NotEmpty(t, msg.GetHeaders()["x-ratelimit-limit-tokens"], "rate headers come with the first event")
		}
		types = append(types, ev.Type)
		if ev.Type == "response.output_text.delta" {
			text += ev.Delta
		}
		if ev.Type == "response.completed" {
			require.NoError(t, json.Unmarshal(ev.Response, &final))
		}
	}
	require.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}, types[:4])
	require.Equal(t, []string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}, types[len(types)-4:])
	require.Equal(t, "one two three", text)
	require.Equal(t, "completed", final.Status)
	require.Equal(t, "one two three", final.Output[0].Content[0].Text)
	require.NotNil(t, final.Usage, "response.completed carries usage")
	require.Positive(t, final.Usage.TotalTokens)
}

func TestResponsesErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, body, param string
		code              codes.Code
	}{
		{"missing input", `{"model":"echo"}`, "input", codes.InvalidArgument},
		{"hosted tool", `{"model":"echo","input":"x","tools":[{"type":"web_search_preview","search_context_size":"low"}]}`, "tools[0].type", codes.InvalidArgument},
		{"unsupported item type", `{"model":"echo","input":[{"role":"user","content":"x"},{"type":"item_reference","id":"msg_1"}]}`, "input[1].type", codes.InvalidArgument},
		{"reasoning item without id", `{"model":"echo","input":[{"role":"user","content":"x"},{"type":"reasoning","summary":[]}]}`, "input[1].id", codes.InvalidArgument},
		{"malformed item content", `{"model":"echo","input":[{"role":"user","content":"x"},{"role":"user","content":"y"},{"role":"user","content":42}]}`, "input[2].content", codes.InvalidArgument},
		{"image part", `{"model":"echo","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x"}]}]}`, "input[0].content[0].type", codes.InvalidArgument},
		{"previous_response_id unknown", `{"model":"echo","input":"x","previous_response_id":"resp_1"}`, "previous_response_id", codes.NotFound},
		{"previous_response_id malformed", `{"model":"echo","input":"x","previous_response_id":"x y"}`, "previous_response_id", codes.InvalidArgument},
		{"store without keyvault", `{"model":"echo","input":"x","store":true}`, "store", codes.InvalidArgument},
		{"text.format name", `{"model":"echo","input":"x","text":{"format":{"type":"json_schema","name":"bad name","schema":{}}}}`, "text.format.name", codes.InvalidArgument},
		{"chat rule renamed", `{"model":"echo","input":[{"role":"tool","content":"x"}]}`, "input[0].role", codes.InvalidArgument},
		{"unknown parameter", `{"model":"echo","input":"x","messages":[]}`, "messages", codes.InvalidArgument},
		{"temperature", `{"model":"echo","input":"x","temperature":3}`, "temperature", codes.InvalidArgument},
		{"unknown model", `{"model":"gpt-17","input":"x"}`, "model", codes.NotFound},
		{"allowed_tools unknown tool", `{"model":"echo","input":"x","tools":[{"type":"function","name":"get_weather"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"function","name":"nope"}]}}`, "tool_choice.tools[0].name", codes.InvalidArgument},
		{"allowed_tools hosted tool", `{"model":"echo","input":"x","tools":[{"type":"function","name":"get_weather"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":[{"type":"web_search"}]}}`, "tool_choice.tools[0].type", codes.InvalidArgument},
		{"allowed_tools mode", `{"model":"echo","input":"x","tools":[{"type":"function","name":"get_weather"}],"tool_choice":{"type":"allowed_tools","mode":"none","tools":[{"type":"function","name":"get_weather"}]}}`, "tool_choice.mode", codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(tt.body)})
			code, _, param := errInfo(t, err)
			require.Equal(t, tt.code, code, status.Convert(err).Message())
			require.Equal(t, tt.param, param, status.Convert(err).Message())
		})
	}
}
