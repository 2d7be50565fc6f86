package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

const models = `{
  "models": [
    {"id": "echo", "upstream": "local", "owned_by": "rampart", "input_usd_per_mtok": 1, "output_usd_per_mtok": 2},
    {"id": "rampart-extractive", "upstream": "local"},
    {"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "max_dimensions": 1024},
    {"id": "secret-model", "upstream": "local", "upstream_model": "echo"}
  ],
  "tenants": {
    "t-vip": {"allowed_models": ["*"], "aliases": {"fast": "echo"}}
  },
  "default": {"allowed_models": ["echo", "rampart-extractive", "rampart-hash-embed"]}
}`

const tools = `{
  "tenants": {
    "t1": {
      "tools": [
        {"name": "get_weather", "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}},
        {"name": "delete_file", "requires_confirmation": true},
        {"name": "search"}
      ],
      "keys": {"k-narrow": ["search"]}
    }
  }
}`

type env struct {
	srv    *servertest.Server
	client inferencev1.InferenceServiceClient
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return startEnv(t, servertest.Options{Models: []byte(models), ToolPolicy: []byte(tools), Clients: []string{"keyvault"}})
}

// startEnv starts inference with o and dials it as the edge.
func startEnv(tb testing.TB, o servertest.Options) *env {
	tb.Helper()
	srv := servertest.Start(tb, o)
	return &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(tb, "edge"))}
}

// fakeUpstream serves fake over HTTP until the test ends and returns the
// model registry's "fake" upstream entry for it: OpenAI-compatible, no
// retries (a test's scripted failure is seen once).
func fakeUpstream(tb testing.TB, fake http.Handler) string {
	tb.Helper()
	up := httptest.NewServer(fake)
	tb.Cleanup(up.Close)
	return `"fake": {"type": "openai", "base_url": "` + up.URL + `/v1", "max_retries": -1}`
}

func principalFor(tenant, key string, mutate ...func(*authv1.Principal)) *authv1.Principal {
	p := &authv1.Principal{TenantId: tenant, KeyId: key, Subject: "user-1", Scopes: []string{"chat:write", "embeddings:write", "usage:read", "ingest:read"}, Limits: &authv1.Limits{}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func (e *env) ctx(t *testing.T, p *authv1.Principal) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return e.srv.Outgoing(ctx, t, p, "x-request-id", "req-test")
}

func chatBody(model, msg string, extra string) []byte {
	b := `{"model":"` + model + `","messages":[{"role":"user","content":` + quote(msg) + `}]` + extra + `}`
	return []byte(b)
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Rampart *struct {
		Citations []struct {
			Index  int    `json:"index"`
			Source string `json:"source"`
			Quote  string `json:"quote"`
		} `json:"citations"`
		RequiresConfirmation []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"requires_confirmation"`
		StrippedToolCalls []struct {
			Name   string `json:"name"`
			Reason string `json:"reason"`
		} `json:"stripped_tool_calls"`
	} `json:"rampart"`
}

func errInfo(t *testing.T, err error) (codes.Code, string, string) {
	t.Helper()
	st := status.Convert(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return st.Code(), info.GetReason(), info.GetMetadata()["param"]
		}
	}
	return st.Code(), "", ""
}

// errMetadata is the metadata of err's ErrorInfo.
func errMetadata(t *testing.T, err error) map[string]string {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

func TestChatCompletion(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(t, principalFor("t1", "k1"))
	resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "hello there", "")})
	require.NoError(t, err)
	var c completion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.Equal(t, "chat.completion", c.Object)
	require.Equal(t, "echo", c.Model)
	require.Len(t, c.Choices, 1)
	require.Equal(t, "hello there", *c.Choices[0].Message.Content)
	require.Equal(t, "assistant", c.Choices[0].Message.Role)
	require.Equal(t, "stop", c.Choices[0].FinishReason)
	require.Positive(t, c.Usage.PromptTokens)
	require.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
}

func TestChatErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		p      *authv1.Principal
		body   string
		code   codes.Code
		reason string
		param  string
	}{
		{"malformed json", nil, `{"model":`, codes.InvalidArgument, "", ""},
		{"not an object", nil, `[1,2]`, codes.InvalidArgument, "", ""},
		{"unknown parameter", nil, `{"model":"echo","messages":[{"role":"user","content":"x"}],"frobnicate":1}`, codes.InvalidArgument, "unsupported_parameter", "frobnicate"},
		{"wrong type", nil, `{"model":"echo","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, codes.InvalidArgument, "", "temperature"},
		{"empty messages", nil, `{"model":"echo","messages":[]}`, codes.InvalidArgument, "", "messages"},
		{"missing model", nil, `{"messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "", "model"},
		{"bad role", nil, `{"model":"echo","messages":[{"role":"wizard","content":"x"}]}`, codes.InvalidArgument, "", "messages[0].role"},
		{"missing content", nil, `{"model":"echo","messages":[{"role":"user"}]}`, codes.InvalidArgument, "", "messages[0].content"},
		{"n above the most choices", nil, `{"model":"echo","n":9,"messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "", "n"},
		{"logprobs on a local model", nil, `{"model":"echo","logprobs":true,"messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "unsupported_parameter", "logprobs"},
		{"temperature out of range", nil, `{"model":"echo","temperature":3,"messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "", "temperature"},
		{"image part", nil, `{"model":"echo","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, codes.InvalidArgument, "unsupported_value", "messages[0].content[0].type"},
		{"image part after text parts", nil, `{"model":"echo","messages":[{"role":"system","content":[{"type":"text","text":"s"}]},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]}]}`, codes.InvalidArgument, "unsupported_value", "messages[1].content[1].type"},
		{"text part without text", nil, `{"model":"echo","messages":[{"role":"user","content":[{"type":"text"}]}]}`, codes.InvalidArgument, "unsupported_value", "messages[0].content[0].text"},
		{"unknown model", nil, `{"model":"gpt-17","messages":[{"role":"user","content":"x"}]}`, codes.NotFound, "model_not_found", "model"},
		{"model of another tenant's policy", nil, `{"model":"secret-model","messages":[{"role":"user","content":"x"}]}`, codes.NotFound, "model_not_found", "model"},
		{"alias of another tenant", nil, `{"model":"fast","messages":[{"role":"user","content":"x"}]}`, codes.NotFound, "model_not_found", "model"},
		{"model not allowed for key", principalFor("t1", "k1", func(p *authv1.Principal) { p.AllowedModels = []string{"rampart-extractive"} }),
			`{"model":"echo","messages":[{"role":"user","content":"x"}]}`, codes.PermissionDenied, "model_not_allowed", "model"},
		{"embedding model for chat", nil, `{"model":"rampart-hash-embed","messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "", "model"},
		{"tools on a model without tools", nil, `{"model":"rampart-extractive","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"search"}}]}`, codes.InvalidArgument, "", "tools"},
		{"tool not allowed", nil, `{"model":"echo","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"rm_rf"}}]}`, codes.InvalidArgument, "tool_not_allowed", "tools[0].function.name"},
		{"tool not allowed for key", principalFor("t1", "k-narrow"), `{"model":"echo","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`, codes.InvalidArgument, "tool_not_allowed", "tools[0].function.name"},
		{"tools denied by default for other tenants", principalFor("t2", "k2"), `{"model":"echo","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"search"}}]}`, codes.InvalidArgument, "tool_not_allowed", "tools[0].function.name"},
		{"unknown nested parameter named by path", nil, `{"model":"echo","messages":[{"role":"user","content":"x","audio":{}}]}`, codes.InvalidArgument, "unsupported_parameter", "messages[0].audio"},
		{"json_schema on extractive", nil, `{"model":"rampart-extractive","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","strict":true,"schema":{"type":"object"}}}}`, codes.InvalidArgument, "", "response_format"},
		{"json_schema without schema", nil, `{"model":"echo","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, codes.InvalidArgument, "", "response_format.json_schema"},
		{"stream on unary", nil, `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`, codes.InvalidArgument, "", "stream"},
		{"missing scope", principalFor("t1", "k1", func(p *authv1.Principal) { p.Scopes = []string{"ingest:write"} }), `{"model":"echo","messages":[{"role":"user","content":"x"}]}`, codes.PermissionDenied, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			if p == nil {
				p = principalFor("t1", "k1")
			}
			_, err := e.client.ChatCompletion(e.ctx(t, p), &inferencev1.ChatCompletionRequest{Body: []byte(tt.body)})
			require.Error(t, err)
			code, reason, param := errInfo(t, err)
			require.Equal(t, tt.code, code, status.Convert(err).Message())
			if tt.reason != "" {
				require.Equal(t, tt.reason, reason)
			}
			require.Equal(t, tt.param, param)
		})
	}
}

func TestNoPrincipalOrWrongCaller(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := e.client.ListModels(ctx, &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	// keyvault holds a valid certificate but is not in the allow-list.
	other := inferencev1.NewInferenceServiceClient(e.srv.Dial(t, "keyvault"))
	_, err = other.ListModels(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	// A forged assertion (signed by another key) is refused.
	ctx = metadata.AppendToOutgoingContext(ctx, principal.MetadataKey, "v1.test.AAAA.AAAA")
	_, err = e.client.ListModels(ctx, &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
}

func TestModels(t *testing.T) {
	e := newEnv(t)
	ids := func(p *authv1.Principal) []string {
		resp, err := e.client.ListModels(e.ctx(t, p), &inferencev1.ListModelsRequest{})
		require.NoError(t, err)
		var out []string
		for _, m := range resp.GetModels() {
			out = append(out, m.GetId())
		}
		return out
	}
	require.Equal(t, []string{"echo", "rampart-extractive", "rampart-hash-embed"}, ids(principalFor("t1", "k1")))
	require.Equal(t, []string{"echo", "fast", "rampart-extractive", "rampart-hash-embed", "secret-model"}, ids(principalFor("t-vip", "k1")))
	require.Equal(t, []string{"echo"}, ids(principalFor("t1", "k1", func(p *authv1.Principal) { p.AllowedModels = []string{"echo"} })))

	m, err := e.client.GetModel(e.ctx(t, principalFor("t1", "k1")), &inferencev1.GetModelRequest{Model: "echo"})
	require.NoError(t, err)
	require.Equal(t, "rampart", m.GetModel().GetOwnedBy())
	_, err = e.client.GetModel(e.ctx(t, principalFor("t1", "k1")), &inferencev1.GetModelRequest{Model: "secret-model"})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestStream(t *testing.T) {
	e := newEnv(t)
	st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{
		Body: chatBody("echo", "one two three", `,"stream":true,"stream_options":{"include_usage":true}`)})
	require.NoError(t, err)
	var text string
	var chunks []map[string]any
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var c map[string]any
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &c))
		chunks = append(chunks, c)
		if choices, _ := c["choices"].([]any); len(choices) > 0 {
			if s, ok := dig(t, choices, 0, "delta", "content").(string); ok {
				text += s
			}
		}
	}
	require.Equal(t, "one two three", text)
	first, last := chunks[0], chunks[len(chunks)-1]
	require.Equal(t, "assistant", dig(t, first, "choices", 0, "delta", "role"))
	require.Empty(t, last["choices"])
	require.NotNil(t, last["usage"])
	require.Contains(t, chunks[1], "usage")
	require.Nil(t, chunks[1]["usage"])
	require.Equal(t, "stop", dig(t, chunks[len(chunks)-2], "choices", 0, "finish_reason"))
}

func TestExtractive(t *testing.T) {
	e := newEnv(t)
	body := `{"model":"rampart-extractive","messages":[
	 {"role":"system","content":"The office opens at 9am on weekdays. Parking is free for visitors. The cafeteria serves lunch from noon."},
	 {"role":"user","content":"When does the office open?"}]}`
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: []byte(body)})
	require.NoError(t, err)
	var c completion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.Contains(t, *c.Choices[0].Message.Content, `"The office opens at 9am on weekdays." [1]`)
	require.NotContains(t, *c.Choices[0].Message.Content, "Parking")
	require.NotNil(t, c.Rampart)
	require.Equal(t, "system message", c.Rampart.Citations[0].Source)

	// Passages from retrieval are cited by source.
	resp, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body:     chatBody("rampart-extractive", "What is the refund window?", ""),
		Passages: []*inferencev1.Passage{{Id: "c1", Source: "policy.md", Text: "Refunds are accepted within 30 days. Shipping is free."}},
	})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.Contains(t, *c.Choices[0].Message.Content, "Refunds are accepted within 30 days.")
	require.Equal(t, "policy.md (c1)", c.Rampart.Citations[0].Source)
}

func TestToolPolicy(t *testing.T) {
	e := newEnv(t)
	toolsJSON := `,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"delete_file"}},{"type":"function","function":{"name":"search"}}]`
	tests := []struct {
		name       string
		msg        string
		wantCall   string
		wantFinish string
		stripped   string
		confirm    string
	}{
		{"allowed call", `call:get_weather {"city":"Paris"}`, "get_weather", "tool_calls", "", ""},
		{"schema-invalid arguments are stripped", `call:get_weather {"town":"Paris"}`, "", "stop", "get_weather", ""},
		{"malformed arguments are stripped", `call:get_weather {not json`, "", "stop", "get_weather", ""},
		{"call outside the list is stripped", `call:launch_missiles {}`, "", "stop", "launch_missiles", ""},
		{"confirmation required", `call:delete_file {"path":"/tmp/x"}`, "", "stop", "", "delete_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", tt.msg, toolsJSON)})
			require.NoError(t, err)
			var c completion
			require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
			ch := c.Choices[0]
			require.Equal(t, tt.wantFinish, ch.FinishReason)
			if tt.wantCall != "" {
				require.Len(t, ch.Message.ToolCalls, 1)
				require.Equal(t, tt.wantCall, ch.Message.ToolCalls[0].Function.Name)
			} else {
				require.Empty(t, ch.Message.ToolCalls)
			}
			if tt.stripped != "" {
				require.Equal(t, tt.stripped, c.Rampart.StrippedToolCalls[0].Name)
				require.NotContains(t, c.Rampart.StrippedToolCalls[0].Reason, "Paris", "reasons never echo argument values")
			}
			if tt.confirm != "" {
				require.Equal(t, tt.confirm, c.Rampart.RequiresConfirmation[0].Function.Name)
			}
		})
	}
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	t.Run("tokens per minute", func(t *testing.T) {
		p := principalFor("tq", "kq", func(p *authv1.Principal) { p.Limits.TokensPerMinute = 20 })
		ctx := e.ctx(t, p)
		long := chatBody("echo", string(make([]byte, 200)), "")
		resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: long})
		require.NoError(t, err)
		require.Equal(t, "20", resp.GetHeaders()["x-ratelimit-limit-tokens"])
		_, err = e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: long})
		code, reason, _ := errInfo(t, err)
		require.Equal(t, codes.ResourceExhausted, code)
		require.Equal(t, "rate_limit_exceeded", reason)
		var retry *errdetails.RetryInfo
		for _, d := range status.Convert(err).Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				retry = r
			}
		}
		require.NotNil(t, retry)
		require.Positive(t, retry.GetRetryDelay().AsDuration())
		md := errMetadata(t, err)
		require.Equal(t, "20", md["x-ratelimit-limit-tokens"], "the refusal carries the token headers")
		require.Equal(t, "0", md["x-ratelimit-remaining-tokens"])
		require.Equal(t, retry.GetRetryDelay().AsDuration().Round(time.Millisecond).String(), md["x-ratelimit-reset-tokens"])
	})
	t.Run("monthly budget", func(t *testing.T) {
		p := principalFor("tb", "kb", func(p *authv1.Principal) { p.Limits.TenantMonthlyTokenBudget = 30 })
		ctx := e.ctx(t, p)
		var err error
		for range 10 {
			if _, err = e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "a fairly long message to spend tokens", "")}); err != nil {
				break
			}
		}
		code, reason, _ := errInfo(t, err)
		require.Equal(t, codes.ResourceExhausted, code)
		require.Equal(t, "insufficient_quota", reason)
	})
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	var wantTokens int64
	for i, key := range []string{"ka", "ka", "kb"} {
		resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("tu", key)), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "message number "+string(rune('a'+i)), "")})
		require.NoError(t, err)
		var c completion
		require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
		wantTokens += int64(c.Usage.TotalTokens)
	}
	_, err := e.client.ChatCompletion(e.ctx(t, principalFor("other", "kx")), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "not yours", "")})
	require.NoError(t, err)

	get := func(p *authv1.Principal, group string) *inferencev1.GetUsageResponse {
		resp, err := e.client.GetUsage(e.ctx(t, p), &inferencev1.GetUsageRequest{GroupBy: group})
		require.NoError(t, err)
		return resp
	}
	byKey := get(principalFor("tu", "ka"), "key")
	require.Len(t, byKey.GetBuckets(), 2)
	require.Equal(t, "ka", byKey.GetBuckets()[0].GetGroup())
	require.Equal(t, int64(2), byKey.GetBuckets()[0].GetRequests())
	require.Equal(t, int64(3), byKey.GetTotal().GetRequests())
	require.Equal(t, wantTokens, byKey.GetTotal().GetTotalTokens())
	require.Positive(t, byKey.GetTotal().GetCostMicroUsd())

	byModel := get(principalFor("tu", "ka"), "model")
	require.Len(t, byModel.GetBuckets(), 1)
	require.Equal(t, "echo", byModel.GetBuckets()[0].GetGroup())
	byDay := get(principalFor("tu", "ka"), "day")
	require.Equal(t, time.Now().UTC().Format(time.DateOnly), byDay.GetBuckets()[0].GetGroup())

	// Another tenant sees only its own usage; a fresh tenant sees nothing.
	require.Equal(t, int64(1), get(principalFor("other", "kx"), "key").GetTotal().GetRequests())
	require.Empty(t, get(principalFor("nobody", "kn"), "key").GetBuckets())

	_, err = e.client.GetUsage(e.ctx(t, principalFor("tu", "ka")), &inferencev1.GetUsageRequest{GroupBy: "tenant"})
	_, _, param := errInfo(t, err)
	require.Equal(t, "group_by", param)
	_, err = e.client.GetUsage(e.ctx(t, principalFor("tu", "ka")), &inferencev1.GetUsageRequest{From: "yesterday"})
	_, _, param = errInfo(t, err)
	require.Equal(t, "from", param)
	_, err = e.client.GetUsage(e.ctx(t, principalFor("tu", "ka", func(p *authv1.Principal) { p.Scopes = []string{"chat:write"} })), &inferencev1.GetUsageRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

func TestEmbeddings(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(t, principalFor("t1", "k1"))
	resp, err := e.client.Embeddings(ctx, &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":["hello world","hello"],"dimensions":64}`)})
	require.NoError(t, err)
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &out))
	require.Len(t, out.Data, 2)
	require.Len(t, out.Data[0].Embedding, 64)
	require.Positive(t, out.Usage.PromptTokens)

	resp, err = e.client.Embeddings(ctx, &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"hello","encoding_format":"base64"}`)})
	require.NoError(t, err)
	var b64 struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &b64))
	raw, err := base64.StdEncoding.DecodeString(b64.Data[0].Embedding)
	require.NoError(t, err)
	require.Len(t, raw, 4*256)

	for _, tc := range []struct{ body, param string }{
		{`{"model":"rampart-hash-embed","input":[]}`, "input"},
		{`{"model":"rampart-hash-embed","input":"x","dimensions":5000}`, "dimensions"},
		{`{"model":"rampart-hash-embed","input":"x","encoding_format":"int8"}`, "encoding_format"},
		{`{"model":"echo","input":"x"}`, "model"},
		{`{"model":"rampart-hash-embed","input":[1,2]}`, ""},
	} {
		_, err := e.client.Embeddings(ctx, &inferencev1.EmbeddingsRequest{Body: []byte(tc.body)})
		code, _, param := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code, tc.body)
		require.Equal(t, tc.param, param, tc.body)
	}
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
