package server_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// ADR 0135: reasoning_effort and verbosity reach an OpenAI-compatible
// upstream and are refused, naming the provider, on a model whose provider
// has no such setting; modalities ["text"] and service_tier "auto" or
// "default" are taken (what Rampart does anyway) and never forwarded, any
// other value refused naming the member.
func TestReasoningAndTiers(t *testing.T) {
	e, fake := choicesEnv(t)
	t.Run("reasoning settings forwarded, defaults not", func(t *testing.T) {
		c := e.choicesChat(t, chatBody("gpt-chat", "hello there",
			`,"reasoning_effort":"xhigh","verbosity":"high","modalities":["text"],"service_tier":"auto"`))
		require.Len(t, c.Choices, 1)
		var up map[string]any
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Equal(t, "xhigh", up["reasoning_effort"], "a value of OpenAI's, which the upstream judges")
		require.Equal(t, "high", up["verbosity"])
		require.NotContains(t, up, "modalities")
		require.NotContains(t, up, "service_tier")
	})
	t.Run("logit_bias forwarded", func(t *testing.T) {
		e.choicesChat(t, chatBody("gpt-chat", "hello there", `,"logit_bias":{"50256":-100,"15339":7}`))
		var up struct {
			LogitBias map[string]int `json:"logit_bias"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Equal(t, map[string]int{"50256": -100, "15339": 7}, up.LogitBias)
	})
	t.Run("the defaults on a local model", func(t *testing.T) {
		for _, extra := range []string{`,"modalities":["text"]`, `,"service_tier":"default"`, `,"service_tier":"auto","modalities":null`, `,"logit_bias":{}`} {
			c := e.choicesChat(t, chatBody("echo", "hello there", extra))
			require.Equal(t, "hello there", *c.Choices[0].Message.Content, extra)
		}
	})
	for _, tc := range []struct {
		name, model, extra, reason, param, says string
	}{
		{"reasoning_effort on a local model", "echo", `,"reasoning_effort":"high"`, "unsupported_parameter", "reasoning_effort", "provider (local)"},
		{"verbosity on a local model", "echo", `,"verbosity":"low"`, "unsupported_parameter", "verbosity", "provider (local)"},
		{"reasoning_effort not a word", "gpt-chat", `,"reasoning_effort":"Max Effort!"`, "", "reasoning_effort", "medium"},
		{"verbosity not a word", "gpt-chat", `,"verbosity":"very\nloud"`, "", "verbosity", "medium"},
		{"audio output", "gpt-chat", `,"modalities":["text","audio"]`, "unsupported_value", "modalities[1]", `"audio"`},
		{"a paid tier", "gpt-chat", `,"service_tier":"priority"`, "unsupported_value", "service_tier", `"priority"`},
		{"flex", "echo", `,"service_tier":"flex"`, "unsupported_value", "service_tier", `"flex"`},
		{"logit_bias on a local model", "echo", `,"logit_bias":{"50256":-100}`, "unsupported_parameter", "logit_bias", "provider (local)"},
		{"logit_bias key not a token id", "gpt-chat", `,"logit_bias":{"hello":5}`, "", "logit_bias", "token id"},
		{"logit_bias value out of range", "gpt-chat", `,"logit_bias":{"42":101}`, "", "logit_bias", "-100 and 100"},
		{"logit_bias value not an integer", "gpt-chat", `,"logit_bias":{"42":"x"}`, "", "logit_bias.42", "expected an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fake.Requests()
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
				&inferencev1.ChatCompletionRequest{Body: chatBody(tc.model, "x", tc.extra)})
			code, reason, param := errInfo(t, err)
			require.Equal(t, codes.InvalidArgument, code)
			if tc.reason != "" {
				require.Equal(t, tc.reason, reason)
			}
			require.Equal(t, tc.param, param)
			require.Contains(t, status.Convert(err).Message(), tc.says)
			require.Equal(t, before, fake.Requests(), "refused before any upstream call")
		})
	}
	t.Run("stream_options.include_obfuscation either way, not forwarded", func(t *testing.T) {
		for _, model := range []string{"echo", "gpt-chat"} {
			for _, v := range []string{"false", "true"} {
				chunks, text, finish := e.streamChunks(t, chatBody(model, "hello there",
					`,"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":`+v+`}`))
				require.Equal(t, "hello there", text[0])
				require.Equal(t, "stop", finish[0])
				require.NotNil(t, chunks[len(chunks)-1]["usage"], "include_usage still served")
				for _, c := range chunks {
					require.NotContains(t, c, "obfuscation")
				}
			}
			if model == "gpt-chat" {
				require.NotContains(t, string(fake.LastBody()), "obfuscation")
			}
		}
	})
	t.Run("refused on a local model when streamed too", func(t *testing.T) {
		st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")),
			&inferencev1.StreamChatCompletionRequest{Body: chatBody("echo", "x", `,"stream":true,"reasoning_effort":"low"`)})
		require.NoError(t, err)
		_, err = st.Recv()
		code, reason, param := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code)
		require.Equal(t, "unsupported_parameter", reason)
		require.Equal(t, "reasoning_effort", param)
	})
}

// tool_choice allowed_tools (ADR 0135 §4): the model is offered only the
// allowed tools, with the mode as tool_choice, on every provider; on the
// Responses API too. Its faults are named by their paths.
func TestAllowedTools(t *testing.T) {
	e, fake := choicesEnv(t)
	const tools = `,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},` +
		`{"type":"function","function":{"name":"search","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]`
	allowed := func(mode, name string) string {
		return `,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"` + mode + `","tools":[{"type":"function","function":{"name":"` + name + `"}}]}}`
	}
	t.Run("upstream gets the allowed tools and the mode", func(t *testing.T) {
		e.choicesChat(t, chatBody("gpt-chat", "weather in Paris?", tools+allowed("required", "search")))
		var up struct {
			Tools []struct {
				Function struct{ Name string } `json:"function"`
			} `json:"tools"`
			ToolChoice json.RawMessage `json:"tool_choice"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Len(t, up.Tools, 1)
		require.Equal(t, "search", up.Tools[0].Function.Name)
		require.JSONEq(t, `"required"`, string(up.ToolChoice))
	})
	t.Run("a local model calls only an allowed tool", func(t *testing.T) {
		resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
			&inferencev1.ChatCompletionRequest{Body: chatBody("echo", "weather in Paris?", tools+allowed("required", "search"))})
		require.NoError(t, err)
		var c struct {
			Choices []struct {
				Message struct {
					ToolCalls []struct {
						Function struct{ Name string } `json:"function"`
					} `json:"tool_calls"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal(resp.GetBody(), &c), "%s", resp.GetBody())
		require.Equal(t, "tool_calls", c.Choices[0].FinishReason)
		for _, tc := range c.Choices[0].Message.ToolCalls {
			require.Equal(t, "search", tc.Function.Name)
		}
		require.NotEmpty(t, c.Choices[0].Message.ToolCalls)
	})
	t.Run("the Responses API", func(t *testing.T) {
		body := `{"model":"echo","input":"weather in Paris?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}},` +
			`{"type":"function","name":"search","parameters":{"type":"object"}}],` +
			`"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"search"}]}}`
		resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
			&inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
		require.NoError(t, err)
		var r struct {
			Output []struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"output"`
			ToolChoice json.RawMessage `json:"tool_choice"`
		}
		require.NoError(t, json.Unmarshal(resp.GetBody(), &r), "%s", resp.GetBody())
		require.NotEmpty(t, r.Output)
		for _, o := range r.Output {
			require.Equal(t, "function_call", o.Type)
			require.Equal(t, "search", o.Name)
		}
		require.Contains(t, string(r.ToolChoice), "allowed_tools", "tool_choice echoed as sent")
	})
	for _, tc := range []struct{ name, extra, param string }{
		{"unknown tool", tools + allowed("auto", "nope"), "tool_choice.allowed_tools.tools[0].function.name"},
		{"bad mode", tools + allowed("none", "search"), "tool_choice.allowed_tools.mode"},
		{"no tools", tools + `,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[]}}`, "tool_choice.allowed_tools.tools"},
		{"custom tool", tools + `,"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"custom","custom":{"name":"x"}}]}}`, "tool_choice.allowed_tools.tools[0].type"},
		{"without tools", allowed("auto", "search"), "tool_choice.allowed_tools.tools[0].function.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
				&inferencev1.ChatCompletionRequest{Body: chatBody("echo", "x", tc.extra)})
			code, _, param := errInfo(t, err)
			require.Equal(t, codes.InvalidArgument, code)
			require.Equal(t, tc.param, param, status.Convert(err).Message())
		})
	}
}

// The Responses API on the chat path (ADR 0135 §2): reasoning.effort and
// text.verbosity reach an OpenAI-compatible upstream as chat's
// reasoning_effort and verbosity, streamed too; a local model ignores them
// as it always did; text.verbosity is no longer an unknown argument.
func TestResponsesReasoningOnTheChatPath(t *testing.T) {
	e, fake := choicesEnv(t)
	const settings = `,"reasoning":{"effort":"low","summary":"auto"},"text":{"verbosity":"high"}`
	for _, stream := range []bool{false, true} {
		body := `{"model":"gpt-chat","input":"hello there"` + settings + `}`
		if stream {
			body = `{"model":"gpt-chat","input":"hello there","stream":true` + settings + `}`
			st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")),
				&inferencev1.StreamChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
			require.NoError(t, err)
			for {
				if _, err := st.Recv(); err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
		} else {
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")),
				&inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
			require.NoError(t, err)
			var r struct {
				Text struct{ Verbosity string } `json:"text"`
			}
			require.NoError(t, json.Unmarshal(resp.GetBody(), &r))
			require.Equal(t, "high", r.Text.Verbosity, "text echoed as sent")
		}
		var up map[string]any
		require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
		require.Equal(t, "low", up["reasoning_effort"], "stream %v", stream)
		require.Equal(t, "high", up["verbosity"], "stream %v", stream)
		require.NotContains(t, up, "reasoning")
	}
	_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"echo","input":"hello there"` + settings + `}`)})
	require.NoError(t, err, "ignored on a local model")
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"gpt-chat","input":"x","reasoning":{"effort":"Max!"}}`)})
	code, _, param := errInfo(t, err)
	require.Equal(t, codes.InvalidArgument, code)
	require.Equal(t, "reasoning.effort", param)
}
