package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	oaishared "github.com/openai/openai-go/v3/shared"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/pkg/openaitest/sdkcheck"
)

// The OpenAI conformance suite: the official SDKs (openai-go and the Node
// SDK) against the real edge and inference of a `rampart dev` stack, with
// real keys (auth), stored responses (keyvault) and an in-process
// OpenAI-compatible upstream (pkg/openaitest). These tests pin what the
// edge and inference do together: inference's OpenAI validation and
// encoding, its providers and tool policy, limits and budgets, stored
// responses across tenants, and the SSE the edge writes from it. They ran
// in the edge's package against an in-process inference until the edge
// module stopped requiring the inference module (issue 11, ADR 0047); the
// edge's own share (framing, error mapping, forwarding, stream slots) is
// tested there against pkg/inferencetest.

var update = flag.Bool("update", false, "rewrite the SSE golden files in testdata/openai/")

// conformanceModels is the stack's model registry: the offline local
// models plus "gpt-fake" served by the fake upstream, "gpt-native" on the
// same upstream with /v1/responses forwarded to its own Responses API, and
// an upstream embedding model.
func conformanceModels(upstream string) string {
	return `{
  "upstreams": {"fake": {"type": "openai", "base_url": "` + upstream + `/v1", "api_key_env": "RAMPART_TEST_UPSTREAM_KEY", "max_retries": -1}},
  "models": [
    {"id": "echo", "upstream": "local", "owned_by": "rampart"},
    {"id": "rampart-extractive", "upstream": "local", "owned_by": "rampart"},
    {"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "owned_by": "rampart", "max_dimensions": 1024},
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini", "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6},
    {"id": "gpt-native", "upstream": "fake", "upstream_model": "gpt-4.1", "responses_api": "native"},
    {"id": "text-embedding-fake", "kind": "embedding", "upstream": "fake", "upstream_model": "text-embedding-3-small"}
  ],
  "default": {"allowed_models": ["*"]}
}`
}

const conformanceToolPolicy = `{"default": {"tools": [
  {"name": "get_weather", "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
  {"name": "delete_file", "requires_confirmation": true}
]}}`

// conformance is the suite's stack and fake upstream.
type conformance struct {
	st       *stack
	upstream *openaitest.Upstream

	mu      sync.Mutex
	tenants map[string]string // "t2", "t3" → the owner key of a tenant of its own
}

// TestOpenAIConformance starts a stack of its own (its inference registry
// points at the fake upstream) and runs the suite against it, one subtest
// per former edge test (-run 'TestOpenAIConformance/SDKChat').
func TestOpenAIConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack of its own")
	}
	up := &openaitest.Upstream{APIKey: "sk-upstream-secret"} //nolint:gosec // the fake upstream's test key
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	registry, tools := filepath.Join(dir, "models.json"), filepath.Join(dir, "tools.json")
	require.NoError(t, os.WriteFile(registry, []byte(conformanceModels(srv.URL)), 0o600))
	require.NoError(t, os.WriteFile(tools, []byte(conformanceToolPolicy), 0o600))
	st, err := launchEnv("RAMPART_INFERENCE_MODELS="+registry, "RAMPART_INFERENCE_TOOL_POLICY="+tools,
		"RAMPART_TEST_UPSTREAM_KEY=sk-upstream-secret")
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := st.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("stack data kept in %s", st.dir)
			return
		}
		_ = os.RemoveAll(st.dir)
	})
	c := &conformance{st: st, upstream: up, tenants: map[string]string{}}
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"SDKChat", c.sdkChat}, {"SDKStreamingWithUsage", c.sdkStreamingWithUsage}, {"SDKTools", c.sdkTools},
		{"SDKEmbeddings", c.sdkEmbeddings}, {"SDKModels", c.sdkModels}, {"SDKErrors", c.sdkErrors},
		{"BadInput", c.badInput}, {"NoSecretsInResponses", c.noSecretsInResponses}, {"SDKResponses", c.sdkResponses},
		{"SDKStructuredOutputs", c.sdkStructuredOutputs}, {"SDKForcedToolChoice", c.sdkForcedToolChoice},
		{"SDKLegacyCompletions", c.sdkLegacyCompletions}, {"SSEGolden", c.sseGolden}, {"MidStreamErrorEvent", c.midStreamErrorEvent},
		{"UpstreamStreamFailuresAreErrors", c.upstreamStreamFailuresAreErrors}, {"DisconnectCancelsUpstream", c.disconnectCancelsUpstream},
		{"ResponsesSSEFraming", c.responsesSSEFraming}, {"StoredResponsesHTTP", c.storedResponsesHTTP},
		{"SDKStoredResponses", c.sdkStoredResponses}, {"SDKResponseInputItemsAndCancel", c.sdkResponseInputItemsAndCancel},
		{"NodeSDK", c.nodeSDK}, {"TenantStreamCap", c.tenantStreamCap}, {"SDKReasoningAndTiers", c.sdkReasoningAndTiers},
	} {
		t.Run(tc.name, tc.run)
	}
}

// keySpec is an API key a test asks for: its tenant ("t1" the stack's
// admin tenant, "t2" and "t3" tenants of their own), allowed models and
// limits.
type keySpec struct {
	tenant        string
	allowedModels []string
	tpm, budget   int64
}

// oaiView is one test's view of the suite: its keys by the names the test
// gives them.
type oaiView struct {
	c        *conformance
	URL      string
	Upstream *openaitest.Upstream
	keys     map[string]string
}

func (cf *conformance) view(*testing.T) *oaiView {
	return &oaiView{c: cf, URL: cf.st.baseURL, Upstream: cf.upstream, keys: map[string]string{}}
}

// creator returns the key that creates keys in tenant: the admin's for
// "t1", else the owner of a tenant made for it once.
func (cf *conformance) creator(t *testing.T, tenant string) string {
	t.Helper()
	if tenant == "t1" {
		return cf.st.env["RAMPART_ADMIN_KEY"]
	}
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if k, ok := cf.tenants[tenant]; ok {
		return k
	}
	k := newEscalationTenant(t, cf.st, "oai-"+tenant).owner
	cf.tenants[tenant] = k
	return k
}

// AddKey creates a real API key named bearer as spec says.
func (s *oaiView) AddKey(t *testing.T, bearer string, spec keySpec) {
	t.Helper()
	body := map[string]any{"name": "conformance-" + bearer, "scopes": []string{"chat:write", "embeddings:write", "usage:read"}}
	if len(spec.allowedModels) > 0 {
		body["allowed_models"] = spec.allowedModels
	}
	if spec.tpm > 0 || spec.budget > 0 {
		body["limits"] = map[string]any{"tokens_per_minute": spec.tpm, "monthly_token_budget": spec.budget}
	}
	s.keys[bearer] = mustKey(t, s.c.st, s.c.creator(t, spec.tenant), body).APIKey
}

// keyFor is the API key named bearer; a name never added stays as it is
// (an unknown key).
func (s *oaiView) keyFor(bearer string) string {
	if k, ok := s.keys[bearer]; ok {
		return k
	}
	return bearer
}

func (s *oaiView) sdk(bearer string) *oai.Client {
	c := oai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(s.keyFor(bearer)), option.WithMaxRetries(0))
	return &c
}

func oaiCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

type response struct {
	status int
	header http.Header
	bytes  []byte
}

func (s *oaiView) post(t *testing.T, bearer, path, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(oaiCtx(t), http.MethodPost, s.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.keyFor(bearer))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, bytes: b}
}

func weatherTool() []oai.ChatCompletionToolUnionParam {
	return []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(oaishared.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: oai.String("weather by city"),
		Parameters:  oai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	})}
}

const strictPersonSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"role":{"enum":["admin","member"]}},"required":["name","age","role"],"additionalProperties":false}`

var (
	idRE      = regexp.MustCompile(`"id":"chatcmpl-[0-9A-Za-z]+"`)
	createdRE = regexp.MustCompile(`"created":\d+`)
)

// normalize replaces the per-response id and timestamp.
func normalize(b []byte) string {
	s := idRE.ReplaceAllString(string(b), `"id":"chatcmpl-ID"`)
	return createdRE.ReplaceAllString(s, `"created":0`)
}

func (cf *conformance) sdkChat(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
				Model:       model,
				Messages:    []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be terse"), oai.UserMessage("hello world")},
				Temperature: oai.Float(0.2),
				MaxTokens:   oai.Int(100),
				Seed:        oai.Int(7),
				User:        oai.String("end-user-1"),
				// The SDKs' successors of user: accepted, not forwarded (ADR 0096).
				SafetyIdentifier: oai.String("end-user-hash"),
				PromptCacheKey:   oai.String("conversation-1"),
			})
			require.NoError(t, err)
			if model == "gpt-fake" {
				require.NotContains(t, string(s.Upstream.LastBody()), "end-user-hash")
				require.NotContains(t, string(s.Upstream.LastBody()), "conversation-1")
			}
			require.Equal(t, model, resp.Model)
			require.Equal(t, "hello world", resp.Choices[0].Message.Content)
			require.Equal(t, "stop", resp.Choices[0].FinishReason)
			require.Positive(t, resp.Usage.TotalTokens)
			require.True(t, strings.HasPrefix(resp.ID, "chatcmpl-"))
		})
	}
}

// sdkReasoningAndTiers: what openai-go sends for a reasoning model and for
// the default output and tier (ADR 0135): reasoning_effort and verbosity
// reach an OpenAI-compatible upstream, streamed too, and are refused naming
// the provider on a local model; modalities ["text"] and service_tier
// "auto" are taken and not forwarded, audio output and a paid tier refused
// naming the member; stream_options.include_obfuscation is taken; an image
// part is refused naming its path.
func (cf *conformance) sdkReasoningAndTiers(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	user := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hello world")}
	params := oai.ChatCompletionNewParams{Model: "gpt-fake", Messages: user, ReasoningEffort: oaishared.ReasoningEffortHigh,
		Verbosity: oai.ChatCompletionNewParamsVerbosityLow, Modalities: []string{"text"}, ServiceTier: oai.ChatCompletionNewParamsServiceTierAuto,
		MaxCompletionTokens: oai.Int(200)}
	resp, err := c.Chat.Completions.New(oaiCtx(t), params)
	require.NoError(t, err)
	require.Equal(t, "hello world", resp.Choices[0].Message.Content)
	var up map[string]any
	require.NoError(t, json.Unmarshal(s.Upstream.LastBody(), &up))
	require.Equal(t, "high", up["reasoning_effort"])
	require.Equal(t, "low", up["verbosity"])
	require.NotContains(t, up, "modalities")
	require.NotContains(t, up, "service_tier")

	// include_obfuscation (the SDKs' stream option): taken either way.
	streamed := params
	streamed.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true), IncludeObfuscation: oai.Bool(false)}
	stream := c.Chat.Completions.NewStreaming(oaiCtx(t), streamed)
	var text strings.Builder
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	require.NoError(t, stream.Err())
	require.Equal(t, "hello world", text.String())
	require.NoError(t, json.Unmarshal(s.Upstream.LastBody(), &up))
	require.Equal(t, "high", up["reasoning_effort"])

	params.Model = "echo"
	_, err = c.Chat.Completions.New(oaiCtx(t), params)
	apiErr := sdkcheck.CheckAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "unsupported_parameter", "reasoning_effort")
	require.Contains(t, apiErr.Message, "provider (local)")
	params.ReasoningEffort, params.Verbosity = "", ""
	resp, err = c.Chat.Completions.New(oaiCtx(t), params)
	require.NoError(t, err, "modalities [\"text\"] and service_tier auto on a local model")
	require.Equal(t, "hello world", resp.Choices[0].Message.Content)

	params.Modalities = []string{"text", "audio"}
	_, err = c.Chat.Completions.New(oaiCtx(t), params)
	sdkcheck.RequireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "unsupported_value", "modalities[1]")
	params.Modalities, params.ServiceTier = nil, oai.ChatCompletionNewParamsServiceTierPriority
	_, err = c.Chat.Completions.New(oaiCtx(t), params)
	sdkcheck.RequireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "unsupported_value", "service_tier")

	image := oai.UserMessage([]oai.ChatCompletionContentPartUnionParam{oai.TextContentPart("what is this?"),
		oai.ImageContentPart(oai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/cat.png"})})
	_, err = c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo",
		Messages: []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be terse"), image}})
	sdkcheck.RequireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "unsupported_value", "messages[1].content[1].type")
}

func (cf *conformance) sdkStreamingWithUsage(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			stream := c.Chat.Completions.NewStreaming(oaiCtx(t), oai.ChatCompletionNewParams{
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

func (cf *conformance) sdkTools(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
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
			resp, err = c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
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
			stream := c.Chat.Completions.NewStreaming(oaiCtx(t), oai.ChatCompletionNewParams{
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

func (cf *conformance) sdkEmbeddings(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	resp, err := c.Embeddings.New(oaiCtx(t), oai.EmbeddingNewParams{
		Model:      "rampart-hash-embed",
		Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"alpha beta", "gamma"}},
		Dimensions: oai.Int(32),
	})
	require.NoError(t, err)
	require.Len(t, resp.Data, 2)
	require.Len(t, resp.Data[0].Embedding, 32)
	require.Equal(t, int64(1), resp.Data[1].Index)

	resp, err = c.Embeddings.New(oaiCtx(t), oai.EmbeddingNewParams{
		Model: "text-embedding-fake",
		Input: oai.EmbeddingNewParamsInputUnion{OfString: oai.String("abcd")},
	})
	require.NoError(t, err)
	require.Equal(t, []float64{4, 0.5, 0.25}, resp.Data[0].Embedding)

	// base64: little-endian float32, as OpenAI sends it.
	body := s.post(t, "key-a", "/v1/embeddings", `{"model":"rampart-hash-embed","input":"alpha","encoding_format":"base64","dimensions":8}`)
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

func (cf *conformance) sdkModels(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.AddKey(t, "key-narrow", keySpec{tenant: "t1", allowedModels: []string{"echo"}})
	page, err := s.sdk("key-a").Models.List(oaiCtx(t))
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
		require.Equal(t, "model", string(m.Object))
	}
	require.Equal(t, []string{"echo", "gpt-fake", "gpt-native", "rampart-extractive", "rampart-hash-embed", "text-embedding-fake"}, ids)

	page, err = s.sdk("key-narrow").Models.List(oaiCtx(t))
	require.NoError(t, err)
	require.Len(t, page.Data, 1)

	m, err := s.sdk("key-a").Models.Get(oaiCtx(t), "gpt-fake")
	require.NoError(t, err)
	require.Equal(t, "fake", m.OwnedBy)
	_, err = s.sdk("key-narrow").Models.Get(oaiCtx(t), "gpt-fake")
	sdkcheck.RequireAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
}

func (cf *conformance) sdkErrors(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.AddKey(t, "key-narrow", keySpec{tenant: "t1", allowedModels: []string{"echo"}})
	s.AddKey(t, "key-tpm", keySpec{tenant: "t2", tpm: 5})
	s.AddKey(t, "key-budget", keySpec{tenant: "t3", budget: 1})
	user := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hello there, a message of some length")}

	_, err := s.sdk("key-a").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "gpt-99", Messages: user})
	sdkcheck.RequireAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")

	_, err = s.sdk("key-narrow").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "gpt-fake", Messages: user})
	sdkcheck.RequireAPIError(t, err, http.StatusForbidden, "invalid_request_error", "model_not_allowed", "model")

	// n: up to 8 choices (ADR 0120), above a 400 naming it.
	two, err := s.sdk("key-a").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user, N: oai.Int(2)})
	require.NoError(t, err)
	require.Len(t, two.Choices, 2)
	require.Equal(t, int64(1), two.Choices[1].Index)
	_, err = s.sdk("key-a").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user, N: oai.Int(9)})
	sdkcheck.RequireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "invalid_argument", "n")

	// A key the stack never issued (the edge's own test harness sends none:
	// missing_api_key there).
	_, err = s.sdk("unknown-key").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	sdkcheck.RequireAPIError(t, err, http.StatusUnauthorized, "authentication_error", "invalid_api_key", "")

	// TPM: the first call spends more than the limit; the next is refused.
	_, err = s.sdk("key-tpm").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	require.NoError(t, err)
	_, err = s.sdk("key-tpm").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	apiErr := sdkcheck.CheckAPIError(t, err, http.StatusTooManyRequests, "tokens", "rate_limit_exceeded", "")
	require.NotEmpty(t, apiErr.Response.Header.Get("Retry-After"))
	ms, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After-Ms"))
	require.NoError(t, err, "the precise wait the SDKs read first (ADR 0135 §5)")
	secs, err := strconv.Atoi(apiErr.Response.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Positive(t, ms)
	require.LessOrEqual(t, ms, secs*1000, "Retry-After is the same wait rounded up to whole seconds")
	require.Greater(t, ms, (secs-1)*1000)
	require.Equal(t, "5", apiErr.Response.Header.Get("X-Ratelimit-Limit-Tokens"), "the refusal says which limit (ADR 0096)")
	require.Equal(t, "0", apiErr.Response.Header.Get("X-Ratelimit-Remaining-Tokens"))
	require.NotEmpty(t, apiErr.Response.Header.Get("X-Ratelimit-Reset-Tokens"))

	_, err = s.sdk("key-budget").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	require.NoError(t, err)
	_, err = s.sdk("key-budget").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user})
	sdkcheck.RequireAPIError(t, err, http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "")

	// Disallowed tool definitions are refused before anything runs.
	_, err = s.sdk("key-a").Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{Model: "echo", Messages: user,
		Tools: []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(oaishared.FunctionDefinitionParam{Name: "rm_rf"})}})
	sdkcheck.RequireAPIError(t, err, http.StatusBadRequest, "invalid_request_error", "tool_not_allowed", "tools[0].function.name")

	// Streaming errors before the first chunk are plain HTTP errors.
	stream := s.sdk("key-a").Chat.Completions.NewStreaming(oaiCtx(t), oai.ChatCompletionNewParams{Model: "gpt-99", Messages: user})
	for stream.Next() {
	}
	sdkcheck.RequireAPIError(t, stream.Err(), http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
}

func (cf *conformance) badInput(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
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
		{"n above 8", "/v1/chat/completions", `{"model":"echo","n":9,"messages":[{"role":"user","content":"x"}]}`, 400, "n"},
		{"logprobs on a local model", "/v1/chat/completions", `{"model":"echo","logprobs":true,"messages":[{"role":"user","content":"x"}]}`, 400, "logprobs"},
		{"top_logprobs on a local model", "/v1/chat/completions", `{"model":"echo","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"x"}]}`, 400, "logprobs"},
		{"top_logprobs without logprobs", "/v1/chat/completions", `{"model":"gpt-fake","top_logprobs":2,"messages":[{"role":"user","content":"x"}]}`, 400, "top_logprobs"},
		{"an OpenAI parameter not served", "/v1/chat/completions", `{"model":"echo","reasoning_effort":"low","messages":[{"role":"user","content":"x"}]}`, 400, "reasoning_effort"},
		{"stop over 4", "/v1/chat/completions", `{"model":"echo","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"x"}]}`, 400, "stop"},
		{"max_completion_tokens 0", "/v1/chat/completions", `{"model":"echo","max_completion_tokens":0,"messages":[{"role":"user","content":"x"}]}`, 400, "max_completion_tokens"},
		{"embeddings dimensions 0", "/v1/embeddings", `{"model":"rampart-hash-embed","input":"x","dimensions":0}`, 400, "dimensions"},
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
			r := s.post(t, "key-a", tt.path, tt.body)
			// OpenAI answers every client mistake here, 404 model_not_found
			// and 413 included, with type invalid_request_error.
			openaitest.RequireErrorBody(t, r.status, r.header, r.bytes, tt.status, "invalid_request_error", tt.param)
		})
	}
}

func (cf *conformance) noSecretsInResponses(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.Upstream.FailNext(1, http.StatusUnauthorized)
	r := s.post(t, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","messages":[{"role":"user","content":"x"}]}`)
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	var e openaitest.ErrorBody
	require.NoError(t, json.Unmarshal(r.bytes, &e))
	require.Equal(t, "server_error", e.Error.Type)
	require.Equal(t, "upstream_unavailable", e.Error.Code)
	require.NotContains(t, string(r.bytes), "sk-upstream-secret")
	require.NotContains(t, string(r.bytes), "127.0.0.1")
}

// The Responses API with openai-go: text, a function tool round trip, a
// json_schema text format, and the stream's events in order with usage,
// for a local model and one behind an OpenAI-compatible upstream (both
// through inference's mapping onto chat), and one whose upstream serves the
// Responses API itself (native pass-through, ADR 0040).
func (cf *conformance) sdkResponses(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	weather := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather", Strict: oai.Bool(false),
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"echo", "gpt-fake", "gpt-native"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: model, Instructions: oai.String("be terse"),
				Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("hello responses")}})
			require.NoError(t, err)
			require.Equal(t, "hello responses", resp.OutputText())
			require.Equal(t, responses.ResponseStatusCompleted, resp.Status)
			require.Positive(t, resp.Usage.TotalTokens)

			input := responses.ResponseInputParam{responses.ResponseInputItemParamOfMessage(`call:get_weather {"city":"Oslo"}`, responses.EasyInputMessageRoleUser)}
			call, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{weather},
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
			after, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{weather},
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			require.NoError(t, err)
			require.Equal(t, "thanks", after.OutputText())

			stream := c.Responses.NewStreaming(oaiCtx(t), responses.ResponseNewParams{Model: model,
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
	// Stateless reasoning as OpenAI documents it for store false (what
	// Rampart always sends upstream): the output, encrypted reasoning
	// included, goes back as input and reaches the upstream in its place.
	t.Run("native: include reasoning.encrypted_content and the output sent back as input", func(t *testing.T) {
		params := func(input ...responses.ResponseInputItemUnionParam) responses.ResponseNewParams {
			return responses.ResponseNewParams{Model: "gpt-native", Reasoning: oaishared.ReasoningParam{Effort: oaishared.ReasoningEffortLow},
				Include: []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
				Input:   responses.ResponseNewParamsInputUnion{OfInputItemList: input}}
		}
		think := responses.ResponseInputItemParamOfMessage("think", responses.EasyInputMessageRoleUser)
		first, err := c.Responses.New(oaiCtx(t), params(think))
		require.NoError(t, err)
		require.Len(t, first.Output, 2)
		require.Equal(t, "enc-fake-1", first.Output[0].AsReasoning().EncryptedContent)
		// ToParam sends the item's JSON as it came.
		reasoning, message := first.Output[0].AsReasoning().ToParam(), first.Output[1].AsMessage().ToParam()
		second, err := c.Responses.New(oaiCtx(t), params(think, responses.ResponseInputItemUnionParam{OfReasoning: &reasoning},
			responses.ResponseInputItemUnionParam{OfOutputMessage: &message},
			responses.ResponseInputItemParamOfMessage("think again", responses.EasyInputMessageRoleUser)))
		require.NoError(t, err)
		require.Equal(t, "thought about it again (1 earlier)", second.Output[0].AsReasoning().Summary[0].Text)
		require.Equal(t, "think again", second.OutputText())
	})
	t.Run("native: the upstream's Responses API, reasoning items passed through", func(t *testing.T) {
		resp, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "gpt-native",
			Reasoning: oaishared.ReasoningParam{Effort: oaishared.ReasoningEffortLow},
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

		stream := c.Responses.NewStreaming(oaiCtx(t), responses.ResponseNewParams{Model: "gpt-native",
			Reasoning: oaishared.ReasoningParam{Effort: oaishared.ReasoningEffortLow},
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
		_, err = c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "gpt-native",
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("badparam")}})
		var apiErr *oai.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		require.Equal(t, "temperature", apiErr.Param)
		require.Equal(t, "invalid_request_error", apiErr.Type)
		require.Contains(t, apiErr.Message, "must be at most 2")
		broken := c.Responses.NewStreaming(oaiCtx(t), responses.ResponseNewParams{Model: "gpt-native",
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
		resp, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo", Text: responses.ResponseTextConfigParam{Format: format},
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("Ada")}})
		require.NoError(t, err)
		var person map[string]string
		require.NoError(t, json.Unmarshal([]byte(resp.OutputText()), &person))
		require.Contains(t, person["name"], "Ada")
	})
	t.Run("a hosted tool is refused naming it", func(t *testing.T) {
		_, err := c.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo",
			Tools: []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
			Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("x")}})
		var apiErr *oai.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
		require.Equal(t, "tools[0].type", apiErr.Param)
	})
}

func (cf *conformance) sdkStructuredOutputs(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	var schema map[string]any
	require.NoError(t, json.Unmarshal([]byte(strictPersonSchema), &schema))
	format := oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &oaishared.ResponseFormatJSONSchemaParam{
		JSONSchema: oaishared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: oai.Bool(true), Schema: schema},
	}}

	t.Run("echo answers with a schema-valid object", func(t *testing.T) {
		resp, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
			Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Ada Lovelace")}, ResponseFormat: format,
		})
		require.NoError(t, err)
		requireSchemaValid(t, strictPersonSchema, resp.Choices[0].Message.Content)
		require.Contains(t, resp.Choices[0].Message.Content, "Ada Lovelace")
	})
	t.Run("passed through to the OpenAI-compatible upstream", func(t *testing.T) {
		_, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
			Model: "gpt-fake", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}, ResponseFormat: format,
		})
		require.NoError(t, err)
		var sent struct {
			ResponseFormat struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name   string          `json:"name"`
					Strict bool            `json:"strict"`
					Schema json.RawMessage `json:"schema"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		require.NoError(t, json.Unmarshal(s.Upstream.LastBody(), &sent))
		require.Equal(t, "json_schema", sent.ResponseFormat.Type)
		require.Equal(t, "person", sent.ResponseFormat.JSONSchema.Name)
		require.True(t, sent.ResponseFormat.JSONSchema.Strict)
		require.JSONEq(t, strictPersonSchema, string(sent.ResponseFormat.JSONSchema.Schema))
	})
	t.Run("rampart-extractive declines naming response_format", func(t *testing.T) {
		_, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
			Model: "rampart-extractive", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")}, ResponseFormat: format,
		})
		var apiErr *oai.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		require.Equal(t, 400, apiErr.StatusCode)
		require.Equal(t, "response_format", apiErr.Param)
	})
}

func (cf *conformance) sdkForcedToolChoice(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	const params = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}`
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(params), &p))
	tools := []oai.ChatCompletionToolUnionParam{oai.ChatCompletionFunctionTool(oaishared.FunctionDefinitionParam{Name: "get_weather", Parameters: p})}
	choices := map[string]oai.ChatCompletionToolChoiceOptionUnionParam{
		"required": {OfAuto: oai.String("required")},
		"named":    oai.ToolChoiceOptionFunctionToolChoice(oai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
		// allowed_tools (ADR 0135 §4): get_weather is allowed, delete_file
		// (added below) is not, so the model is offered get_weather alone.
		"allowed_tools": {OfAllowedTools: &oai.ChatCompletionAllowedToolChoiceParam{AllowedTools: oai.ChatCompletionAllowedToolsParam{
			Mode: oai.ChatCompletionAllowedToolsModeRequired, Tools: []map[string]any{{"type": "function", "function": map[string]any{"name": "get_weather"}}}}}},
	}
	for name, choice := range choices {
		t.Run(name, func(t *testing.T) {
			offered := tools
			if name == "allowed_tools" {
				offered = append(slices.Clip(tools), oai.ChatCompletionFunctionTool(oaishared.FunctionDefinitionParam{Name: "delete_file"}))
			}
			resp, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
				Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("Paris")}, Tools: offered, ToolChoice: choice,
			})
			require.NoError(t, err)
			require.Equal(t, "tool_calls", resp.Choices[0].FinishReason)
			require.Len(t, resp.Choices[0].Message.ToolCalls, 1)
			call := resp.Choices[0].Message.ToolCalls[0]
			require.Equal(t, "get_weather", call.Function.Name)
			requireSchemaValid(t, params, call.Function.Arguments)
		})
	}
	t.Run("none", func(t *testing.T) {
		resp, err := c.Chat.Completions.New(oaiCtx(t), oai.ChatCompletionNewParams{
			Model: "echo", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(`call:get_weather {"city":"Paris"}`)}, Tools: tools,
			ToolChoice: oai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: oai.String("none")},
		})
		require.NoError(t, err)
		require.Empty(t, resp.Choices[0].Message.ToolCalls)
		require.Equal(t, "stop", resp.Choices[0].FinishReason)
	})
}

func (cf *conformance) sdkLegacyCompletions(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	c := s.sdk("key-a")
	for _, model := range []string{"echo", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Completions.New(oaiCtx(t), oai.CompletionNewParams{
				Model:  oai.CompletionNewParamsModel(model),
				Prompt: oai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"first prompt", "second prompt"}},
			})
			require.NoError(t, err)
			require.Equal(t, "text_completion", string(resp.Object))
			require.Len(t, resp.Choices, 2)
			require.Equal(t, "first prompt", resp.Choices[0].Text)
			require.Equal(t, "second prompt", resp.Choices[1].Text)
			require.Equal(t, int64(1), resp.Choices[1].Index)
			require.Positive(t, resp.Usage.TotalTokens)

			stream := c.Completions.NewStreaming(oaiCtx(t), oai.CompletionNewParams{
				Model:         oai.CompletionNewParamsModel(model),
				Prompt:        oai.CompletionNewParamsPromptUnion{OfString: oai.String("stream these words")},
				StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
			})
			var text string
			var total int64
			for stream.Next() {
				ch := stream.Current()
				for _, choice := range ch.Choices {
					text += choice.Text
				}
				total += ch.Usage.TotalTokens
			}
			require.NoError(t, stream.Err())
			require.Equal(t, "stream these words", text)
			require.Positive(t, total)
		})
	}
}

func (cf *conformance) sseGolden(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	tests := []struct {
		golden string
		body   string
	}{
		{"stream_echo_usage.sse", `{"model":"echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello SSE world"}]}`},
		{"stream_echo.sse", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"no usage here"}]}`},
		{"stream_upstream_tool_call.sse", `{"model":"gpt-fake","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"call:get_weather {\"city\":\"Paris\"}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`},
		{"stream_tool_stripped.sse", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"call:get_weather {\"town\":1}"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`},
		{"stream_extractive.sse", `{"model":"rampart-extractive","stream":true,"messages":[{"role":"system","content":"Backups run at 3am. Restores take an hour."},{"role":"user","content":"When do backups run?"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := s.post(t, "key-a", "/v1/chat/completions", tt.body)
			require.Equal(t, http.StatusOK, r.status, string(r.bytes))
			require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
			require.Equal(t, "no-cache", r.header.Get("Cache-Control"))
			got := normalize(r.bytes)
			require.True(t, strings.HasSuffix(got, "data: [DONE]\n\n"))
			for _, ev := range strings.Split(strings.TrimSuffix(got, "\n\n"), "\n\n") {
				require.True(t, strings.HasPrefix(ev, "data: "), "every event is one data line: %q", ev)
				require.NotContains(t, ev, "\n")
			}
			path := filepath.Join("testdata", "openai", tt.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run TestOpenAIConformance/SSEGolden -update to create the golden file")
			require.Equal(t, string(want), got)
		})
	}
}

func (cf *conformance) midStreamErrorEvent(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	// The fake upstream sends a malformed chunk after the first one: the
	// client gets the partial output, then an error event, and no [DONE].
	r := s.post(t, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"badchunk"}]}`)
	require.Equal(t, http.StatusOK, r.status)
	events := strings.Split(strings.TrimSuffix(string(r.bytes), "\n\n"), "\n\n")
	require.Contains(t, events[1], `"content":"partial"`)
	last := events[len(events)-1]
	require.True(t, strings.HasPrefix(last, `data: {"error":`), last)
	require.Contains(t, last, `"type":"server_error"`)
	require.NotContains(t, string(r.bytes), "[DONE]")
	require.NotContains(t, last, "not json", "upstream detail stays inside")
}

// Issue 10: an upstream stream that ends without [DONE], or that sends an
// error event, reaches the client as an error event — never as
// finish_reason "stop" followed by [DONE]; the non-streaming call fails
// with 503. One that fails after accepting the stream but before any
// content ("errorfirst") is the same: the stream began with the upstream's
// acceptance (ADR 0080), so the client has the role chunk and then the
// error event, not a 503.
func (cf *conformance) upstreamStreamFailuresAreErrors(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	for _, tc := range []struct{ script, wantCode string }{
		{"nodone", "upstream_unavailable"},
		{"errorevent", "upstream_unavailable"},
		{"errorfirst", "upstream_unavailable"},
	} {
		t.Run(tc.script, func(t *testing.T) {
			r := s.post(t, "key-a", "/v1/chat/completions", `{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"`+tc.script+`"}]}`)
			require.Equal(t, http.StatusOK, r.status, "the stream had begun")
			body := string(r.bytes)
			require.NotContains(t, body, "[DONE]")
			require.NotContains(t, body, `"finish_reason":"stop"`)
			events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
			require.Contains(t, events[0], `"delta":{"role":"assistant","content":""}`, "the stream opens with the role chunk")
			last := events[len(events)-1]
			require.True(t, strings.HasPrefix(last, `data: {"error":`), last)
			var e openaitest.ErrorBody
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(last, "data: ")), &e))
			require.Equal(t, tc.wantCode, e.Error.Code)
			require.Equal(t, "server_error", e.Error.Type)
			require.NotContains(t, body, "org-fake-secret", "the upstream's message stays inside")
		})
	}
}

// disconnectCancelsUpstream: the client goes away mid-stream; the edge
// cancels the gRPC stream, inference cancels the upstream request, and the
// fake upstream sees its request context end.
func (cf *conformance) disconnectCancelsUpstream(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	hung := s.Upstream.HangDone()
	reqCtx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-fake","stream":true,"messages":[{"role":"user","content":"hang"}]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.keyFor("key-a"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "waiting") {
			break // the upstream is now holding the stream open
		}
	}
	cancel()
	select {
	case <-hung:
	case <-time.After(30 * time.Second): // deadlock guard, not a timing assertion
		t.Fatal("the upstream never saw the cancellation")
	}
	require.Equal(t, int64(1), s.Upstream.Canceled())
}

// The Responses stream frames each event as "event: <type>" plus one data
// line whose type matches, numbered in order, and ends with
// response.completed instead of a [DONE] sentinel.
func (cf *conformance) responsesSSEFraming(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	r := s.post(t, "key-a", "/v1/responses", `{"model":"echo","stream":true,"input":"framed responses"}`)
	require.Equal(t, http.StatusOK, r.status, string(r.bytes))
	require.Equal(t, "text/event-stream; charset=utf-8", r.header.Get("Content-Type"))
	body := string(r.bytes)
	require.NotContains(t, body, "[DONE]")
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	var last string
	for i, ev := range events {
		name, data, ok := strings.Cut(ev, "\n")
		require.True(t, ok, "event %d has an event line and a data line: %q", i, ev)
		require.True(t, strings.HasPrefix(name, "event: "), ev)
		require.True(t, strings.HasPrefix(data, "data: "), ev)
		var payload struct {
			Type           string `json:"type"`
			SequenceNumber int    `json:"sequence_number"`
		}
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &payload))
		require.Equal(t, strings.TrimPrefix(name, "event: "), payload.Type)
		require.Equal(t, i, payload.SequenceNumber)
		last = payload.Type
	}
	require.Equal(t, "response.created", strings.TrimPrefix(strings.SplitN(events[0], "\n", 2)[0], "event: "))
	require.Equal(t, "response.completed", last)
}

// Stored responses over HTTP: "store": true, previous_response_id,
// GET and DELETE /v1/responses/{id}, and 404 in OpenAI's error shape for
// another tenant's id.
func (cf *conformance) storedResponsesHTTP(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.AddKey(t, "key-b", keySpec{tenant: "t2"})
	send := func(method, key, path string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(oaiCtx(t), method, s.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+s.keyFor(key))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return response{status: resp.StatusCode, header: resp.Header, bytes: b}
	}
	notFound := func(r response, param string) {
		t.Helper()
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.bytes)
		var e openaitest.ErrorBody
		require.NoError(t, json.Unmarshal(r.bytes, &e), "%s", r.bytes)
		require.NotNil(t, e.Error.Param, "%s", r.bytes)
		require.Equal(t, param, *e.Error.Param)
	}

	created := s.post(t, "key-a", "/v1/responses", `{"model":"echo","store":true,"input":"kept for later"}`)
	require.Equal(t, http.StatusOK, created.status, "%s", created.bytes)
	var first struct {
		ID    string `json:"id"`
		Store bool   `json:"store"`
	}
	require.NoError(t, json.Unmarshal(created.bytes, &first))
	require.True(t, first.Store)

	got := send(http.MethodGet, "key-a", "/v1/responses/"+first.ID)
	require.Equal(t, http.StatusOK, got.status, "%s", got.bytes)
	require.JSONEq(t, string(created.bytes), string(got.bytes))

	notFound(send(http.MethodGet, "key-b", "/v1/responses/"+first.ID), "response_id")
	notFound(send(http.MethodDelete, "key-b", "/v1/responses/"+first.ID), "response_id")
	notFound(s.post(t, "key-b", "/v1/responses", `{"model":"echo","input":"x","previous_response_id":"`+first.ID+`"}`), "previous_response_id")

	chained := s.post(t, "key-a", "/v1/responses", `{"model":"echo","previous_response_id":"`+first.ID+`","input":[{"role":"assistant","content":"ok"}]}`)
	require.Equal(t, http.StatusOK, chained.status, "%s", chained.bytes)
	require.Contains(t, string(chained.bytes), `"text":"kept for later"`, "answered from the previous response's input")

	del := send(http.MethodDelete, "key-a", "/v1/responses/"+first.ID)
	require.Equal(t, http.StatusOK, del.status, "%s", del.bytes)
	require.JSONEq(t, `{"id":"`+first.ID+`","object":"response","deleted":true}`, string(del.bytes))
	notFound(send(http.MethodGet, "key-a", "/v1/responses/"+first.ID), "response_id")
}

// The same with openai-go: Store and PreviousResponseID on Responses.New,
// Responses.Get and Responses.Delete, and 404 for another tenant.
func (cf *conformance) sdkStoredResponses(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.AddKey(t, "key-b", keySpec{tenant: "t2"})
	a, b := s.sdk("key-a"), s.sdk("key-b")

	first, err := a.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("first turn")}})
	require.NoError(t, err)
	require.Contains(t, first.RawJSON(), `"store":true`)
	next, err := a.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo", PreviousResponseID: oai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("noted", responses.EasyInputMessageRoleAssistant)}}})
	require.NoError(t, err)
	require.Equal(t, "first turn", next.OutputText(), "answered from the previous response's input")
	require.Equal(t, first.ID, next.PreviousResponseID)

	got, err := a.Responses.Get(oaiCtx(t), first.ID, responses.ResponseGetParams{})
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, "first turn", got.OutputText())

	var apiErr *oai.Error
	_, err = b.Responses.Get(oaiCtx(t), first.ID, responses.ResponseGetParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	require.ErrorAs(t, b.Responses.Delete(oaiCtx(t), first.ID), &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	require.NoError(t, a.Responses.Delete(oaiCtx(t), first.ID))
	_, err = a.Responses.Get(oaiCtx(t), first.ID, responses.ResponseGetParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}

// Input items and cancel with openai-go: InputItems.List pages through a
// stored response's conversation (default order desc, after, limit),
// ListAutoPaging follows has_more; Cancel of a response that was not
// created in the background is OpenAI's 400; another tenant's id is 404
// for both.
func (cf *conformance) sdkResponseInputItemsAndCancel(t *testing.T) {
	s := cf.view(t)
	s.AddKey(t, "key-a", keySpec{tenant: "t1"})
	s.AddKey(t, "key-b", keySpec{tenant: "t2"})
	a, b := s.sdk("key-a"), s.sdk("key-b")

	first, err := a.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true), Instructions: oai.String("be brief"),
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("one")}})
	require.NoError(t, err)
	second, err := a.Responses.New(oaiCtx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true), PreviousResponseID: oai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("two", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfMessage("three", responses.EasyInputMessageRoleUser)}}})
	require.NoError(t, err)

	// The context the model saw: one, its answer, two, three (instructions
	// are not items); newest first by default.
	page, err := a.Responses.InputItems.List(oaiCtx(t), second.ID, responses.InputItemListParams{Limit: oai.Int(3)})
	require.NoError(t, err)
	require.True(t, page.HasMore)
	text := func(it responses.ResponseItemUnion) string {
		require.Equal(t, "message", it.Type)
		var m struct {
			Role    string `json:"role"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		}
		require.NoError(t, json.Unmarshal([]byte(it.RawJSON()), &m))
		return m.Role + ":" + m.Content[0].Type + ":" + m.Content[0].Text
	}
	texts := func(items []responses.ResponseItemUnion) []string {
		var out []string
		for _, it := range items {
			out = append(out, text(it))
		}
		return out
	}
	require.Equal(t, []string{"user:input_text:three", "user:input_text:two", "assistant:output_text:one"}, texts(page.Data))
	next, err := page.GetNextPage()
	require.NoError(t, err)
	require.Equal(t, []string{"user:input_text:one"}, texts(next.Data))
	require.False(t, next.HasMore)

	var all []string
	iter := a.Responses.InputItems.ListAutoPaging(oaiCtx(t), second.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc, Limit: oai.Int(1)})
	for iter.Next() {
		all = append(all, text(iter.Current()))
	}
	require.NoError(t, iter.Err())
	require.Equal(t, []string{"user:input_text:one", "assistant:output_text:one", "user:input_text:two", "user:input_text:three"}, all)

	var apiErr *oai.Error
	_, err = b.Responses.InputItems.List(oaiCtx(t), second.ID, responses.InputItemListParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	_, err = a.Responses.Cancel(oaiCtx(t), second.ID)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "Cannot cancel a synchronous response.", apiErr.Message)
	_, err = b.Responses.Cancel(oaiCtx(t), second.ID)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	_, err = a.Responses.InputItems.List(oaiCtx(t), second.ID, responses.InputItemListParams{Order: "sideways"})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "order", apiErr.Param)
}

// nodeSDKVersions are the official Node SDK's releases the conformance
// script runs with: the last of every major a client may still use (4.x
// has chat.completions.stream under beta and responses.del for delete; the
// script picks what its version has) and the newest that npm serves (7.x
// declares Node 22 in its engines and runs on CI's Node 20 as well).
var nodeSDKVersions = []string{"4.104.0", "5.23.2", openaiNodeVersion, "7.60.0"}

// nodeSDK drives the stack with the official Node SDK, once per version in
// nodeSDKVersions, each with keys of its own (the rate-limited ones are
// spent by a run). It needs node and npm (.ci/run installs them); without
// them it skips, except under CI=true where it fails.
func (cf *conformance) nodeSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Node SDK conformance test")
	}
	node, nerr := exec.LookPath("node")
	npm, perr := exec.LookPath("npm")
	if nerr != nil || perr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and npm are required in CI (apt-get install nodejs npm)")
		}
		t.Skip("node/npm not installed: skipping the Node SDK conformance test (apt-get install nodejs npm)")
	}
	script, err := os.ReadFile(filepath.Join("testdata", "openai", "node", "conformance.mjs"))
	require.NoError(t, err)
	for _, version := range nodeSDKVersions {
		t.Run(version, func(t *testing.T) { cf.nodeSDKVersion(t, node, npm, version, script) })
	}
}

func (cf *conformance) nodeSDKVersion(t *testing.T, node, npm, version string, script []byte) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, "openai@"+version)
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	out, err := install.CombinedOutput()
	require.NoError(t, err, "npm install openai@%s: %s", version, out)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conformance.mjs"), script, 0o644)) //nolint:gosec // dir is t.TempDir()

	s := cf.view(t)
	s.AddKey(t, "node-key", keySpec{tenant: "t1"})
	s.AddKey(t, "node-narrow", keySpec{tenant: "t1", allowedModels: []string{"echo"}})
	s.AddKey(t, "node-tpm", keySpec{tenant: "t2", tpm: 5})
	s.AddKey(t, "node-budget", keySpec{tenant: "t1", budget: 1})
	admin := cf.creator(t, "t1")
	embedOnly := mustKey(t, cf.st, admin, map[string]any{"name": "node-embeddings-only", "scopes": []string{"embeddings:write"}}).APIKey
	rpm := mustKey(t, cf.st, admin, map[string]any{"name": "node-rpm", "scopes": []string{"chat:write"},
		"limits": map[string]any{"requests_per_minute": 1}}).APIKey
	run := exec.CommandContext(ctx, node, "conformance.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "RAMPART_URL="+s.URL, "RAMPART_KEY="+s.keyFor("node-key"), "RAMPART_NARROW_KEY="+s.keyFor("node-narrow"),
		"RAMPART_TPM_KEY="+s.keyFor("node-tpm"), "RAMPART_BUDGET_KEY="+s.keyFor("node-budget"), "RAMPART_EMBED_ONLY_KEY="+embedOnly, "RAMPART_RPM_KEY="+rpm)
	out, err = run.CombinedOutput()
	require.NoError(t, err, "openai@%s: %s", version, out)
	require.Contains(t, string(out), "node conformance OK")
}
