package bedrock_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/bedrock"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

const model = "anthropic.claude-3-haiku-20240307-v1:0"

func setup(t *testing.T, f *fakeBedrock, retries int) *bedrock.Provider {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	p, err := bedrock.New(t.Context(), bedrock.Config{
		Region: "us-east-1", Endpoint: srv.URL, MaxRetries: retries, BaseBackoff: time.Millisecond,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Source: "test"}, nil
		}),
	})
	require.NoError(t, err)
	return p
}

func chatCall(t *testing.T, body string) *provider.ChatCall {
	t.Helper()
	req, err := wire.ParseChat([]byte(body))
	require.NoError(t, err)
	return &provider.ChatCall{UpstreamModel: model, Request: req}
}

const conversation = `{"model":"claude","max_tokens":100,"temperature":0.2,"stop":["END"],"messages":[
 {"role":"system","content":"Be brief."},
 {"role":"user","content":"Weather in Paris?"},
 {"role":"assistant","content":null,"tool_calls":[{"id":"tu-0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
 {"role":"tool","tool_call_id":"tu-0","content":"18C and sunny"},
 {"role":"user","content":"And tomorrow?"}],
 "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
 "tool_choice":"required"}`

func TestConverseMapping(t *testing.T) {
	f := &fakeBedrock{toolUse: true}
	p := setup(t, f, 0)
	res, err := p.Chat(t.Context(), chatCall(t, conversation))
	require.NoError(t, err)
	require.Equal(t, "Let me check.", res.Content)
	require.Equal(t, "tool_calls", res.FinishReason)
	require.Len(t, res.ToolCalls, 1)
	require.Equal(t, "tu-1", res.ToolCalls[0].ID)
	require.JSONEq(t, `{"city":"Paris"}`, res.ToolCalls[0].Function.Arguments)
	require.Equal(t, provider.Usage{PromptTokens: 21, CompletionTokens: 9, Reported: true}, res.Usage)

	require.Equal(t, "/model/"+model+"/converse", f.paths[0])
	req := f.bodies[0]
	require.Equal(t, []any{map[string]any{"text": "Be brief."}}, req["system"])
	msgs, ok := req["messages"].([]any)
	require.True(t, ok)
	require.Len(t, msgs, 3, "user, assistant(toolUse), user(toolResult + text) merged")
	second, ok := msgs[1].(map[string]any)
	require.True(t, ok)
	require.Equal(t, "assistant", second["role"])
	require.Equal(t, map[string]any{"city": "Paris"}, dig(t, msgs, 1, "content", 0, "toolUse", "input"))
	require.NotNil(t, dig(t, msgs, 2, "content", 0, "toolResult"))
	require.Equal(t, "And tomorrow?", dig(t, msgs, 2, "content", 1, "text"))
	require.Equal(t, float64(100), dig(t, req, "inferenceConfig", "maxTokens"))
	require.Equal(t, []any{"END"}, dig(t, req, "inferenceConfig", "stopSequences"))
	require.NotNil(t, dig(t, req, "toolConfig", "toolChoice", "any"))
	require.Equal(t, "get_weather", dig(t, req, "toolConfig", "tools", 0, "toolSpec", "name"))
	require.NotNil(t, dig(t, req, "toolConfig", "tools", 0, "toolSpec", "inputSchema", "json"))
}

func TestConverseStreamWithToolUse(t *testing.T) {
	f := &fakeBedrock{toolUse: true}
	p := setup(t, f, 0)
	var text string
	var last *provider.Delta
	err := p.Stream(t.Context(), chatCall(t, conversation), func(d *provider.Delta) error {
		text += d.Content
		if d.FinishReason != "" {
			last = d
		}
		return nil
	})
	require.NoError(t, err, "cause: %v", causeOf(err))
	require.Equal(t, "Bonjour from Bedrock.", text)
	require.Equal(t, "tool_calls", last.FinishReason)
	require.Len(t, last.ToolCalls, 1)
	require.Equal(t, "get_weather", last.ToolCalls[0].Function.Name)
	require.JSONEq(t, `{"city":"Paris"}`, last.ToolCalls[0].Function.Arguments)
	require.Equal(t, &provider.Usage{PromptTokens: 12, CompletionTokens: 6, Reported: true}, last.Usage)
	require.Equal(t, "/model/"+model+"/converse-stream", f.paths[0])
}

func TestThrottlingRetry(t *testing.T) {
	tests := []struct {
		name     string
		throttle int
		retries  int
		wantErr  bool
		wantReqs int
	}{
		{"retried until success", 2, 3, false, 3},
		{"gives up after retries", 5, 2, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBedrock{throttleN: tt.throttle}
			p := setup(t, f, tt.retries)
			res, err := p.Chat(t.Context(), chatCall(t, `{"model":"c","messages":[{"role":"user","content":"hi"}]}`))
			require.Equal(t, tt.wantReqs, f.requests)
			if tt.wantErr {
				e, ok := apierr.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, apierr.KindRateLimited, e.Kind)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "Bonjour from Bedrock.", res.Content)
			require.Equal(t, "stop", res.FinishReason)
		})
	}
}

func TestCohereEmbeddings(t *testing.T) {
	f := &fakeBedrock{}
	p := setup(t, f, 0)
	res, err := p.Embed(t.Context(), &provider.EmbedCall{UpstreamModel: "cohere.embed-english-v3", Inputs: []string{"a", "b", "c"}})
	require.NoError(t, err)
	require.Len(t, res.Vectors, 3)
	require.False(t, res.Usage.Reported, "Cohere reports no tokens: the service estimates")
	require.Equal(t, "search_document", f.bodies[0]["input_type"])
}

func TestTitanEmbeddings(t *testing.T) {
	f := &fakeBedrock{}
	p := setup(t, f, 0)
	res, err := p.Embed(t.Context(), &provider.EmbedCall{UpstreamModel: "amazon.titan-embed-text-v2:0", Inputs: []string{"a", "b"}, Dimensions: 256})
	require.NoError(t, err)
	require.Len(t, res.Vectors, 2)
	require.Equal(t, 6, res.Usage.PromptTokens)
	require.Equal(t, float64(256), f.bodies[0]["dimensions"])
}

// dig walks decoded JSON by object keys (string) and array indexes (int).
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "not an object at %v", p)
			v = m[k]
		case int:
			a, ok := v.([]any)
			require.True(t, ok, "not an array at %v", p)
			require.Less(t, k, len(a))
			v = a[k]
		}
	}
	return v
}

// causeOf is the provider's own error behind a mapped one, for a failing
// test's message.
func causeOf(err error) error {
	if e, ok := apierr.As(err); ok {
		return e.Cause
	}
	return nil
}

// Converse's prompt-cache counts (ADR 0120 §4): inputTokens leaves out the
// tokens read from and written to the cache, OpenAI's prompt_tokens
// counts them and names the cached ones in
// prompt_tokens_details.cached_tokens; chat and stream alike.
func TestPromptCacheUsage(t *testing.T) {
	f := &fakeBedrock{cache: true}
	p := setup(t, f, 0)
	res, err := p.Chat(t.Context(), chatCall(t, conversation))
	require.NoError(t, err)
	require.Equal(t, provider.Usage{PromptTokens: 12 + 1024 + 64, CompletionTokens: 4, Reported: true,
		PromptDetails: &wire.PromptTokensDetails{CachedTokens: 1024}}, res.Usage)

	var last *provider.Delta
	err = p.Stream(t.Context(), chatCall(t, conversation), func(d *provider.Delta) error {
		if d.Usage != nil {
			last = d
		}
		return nil
	})
	require.NoError(t, err)
	require.NotNil(t, last)
	require.Equal(t, &provider.Usage{PromptTokens: 12 + 1024 + 64, CompletionTokens: 6, Reported: true,
		PromptDetails: &wire.PromptTokensDetails{CachedTokens: 1024}}, last.Usage)
}
