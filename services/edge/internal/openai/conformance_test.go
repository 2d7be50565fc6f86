package openai_test

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/pkg/openaitest/sdkcheck"
)

// The official Go SDK reads what the edge writes: a chat completion as
// JSON, and the SSE stream accumulated into the same message with usage.
func TestSDKChat(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	c := sdk(s, "key-a")
	resp, err := c.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{
		Model:       "echo",
		Messages:    []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("be terse"), oai.UserMessage("hello world")},
		Temperature: oai.Float(0.2),
		Seed:        oai.Int(7),
	})
	require.NoError(t, err)
	require.Equal(t, "echo", resp.Model)
	require.Equal(t, "hello world", resp.Choices[0].Message.Content)
	require.Equal(t, "stop", resp.Choices[0].FinishReason)
	require.Positive(t, resp.Usage.TotalTokens)
	require.True(t, strings.HasPrefix(resp.ID, "chatcmpl-"))

	// What the SDK sent reached inference unchanged, as the key's principal.
	got, ok := s.Inf.LastCall("ChatCompletion")
	require.True(t, ok)
	var sent struct {
		Model       string  `json:"model"`
		Temperature float64 `json:"temperature"`
		Seed        int     `json:"seed"`
	}
	require.NoError(t, json.Unmarshal(got.Body, &sent))
	require.Equal(t, "echo", sent.Model)
	require.InDelta(t, 0.2, sent.Temperature, 0)
	require.Equal(t, 7, sent.Seed)
	require.Equal(t, "ka", got.Principal.GetKeyId())
}

func TestSDKStreamingWithUsage(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	stream := sdk(s, "key-a").Chat.Completions.NewStreaming(ctx(t), oai.ChatCompletionNewParams{
		Model:         "echo",
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
}

// Every OpenAI route forwards the body byte for byte with its request
// format, the caller's assertion (inference sees the key's principal) and
// the request id; the answer's body and headers come back unchanged.
func TestForwardsBodyFormatAndPrincipal(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	const answer = `{"id":"x-1","object":"whatever inference says" ,"n":[1, 2]}`
	s.Inf.SetScript(func(*inferencetest.Call) inferencetest.Answer {
		return inferencetest.Answer{Body: []byte(answer), Headers: map[string]string{"x-ratelimit-remaining-tokens": "42"}}
	})
	for _, tc := range []struct {
		path, method string
		format       inferencev1.RequestFormat
		headers      bool
	}{
		{"/v1/chat/completions", "ChatCompletion", inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED, true},
		{"/v1/completions", "ChatCompletion", inferencev1.RequestFormat_REQUEST_FORMAT_COMPLETIONS, true},
		{"/v1/responses", "ChatCompletion", inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES, true},
		{"/v1/embeddings", "Embeddings", inferencev1.RequestFormat_REQUEST_FORMAT_UNSPECIFIED, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			body := `{"model": "m",  "input":"caf` + "\u00e9" + `", "extra": {"kept": [true, null]}}`
			r := post(t, s, "key-a", tc.path, body)
			require.Equal(t, http.StatusOK, r.status, "%s", r.bytes)
			require.Equal(t, answer, string(r.bytes), "written unchanged")
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			if tc.headers {
				require.Equal(t, "42", r.header.Get("X-Ratelimit-Remaining-Tokens"))
			}
			got, ok := s.Inf.LastCall(tc.method)
			require.True(t, ok)
			require.Equal(t, body, string(got.Body), "forwarded byte for byte")
			require.Equal(t, tc.format, got.Format)
			require.Equal(t, "t1", got.Principal.GetTenantId())
			require.Equal(t, "ka", got.Principal.GetKeyId())
			require.Equal(t, "req-test", got.RequestID)
		})
	}
}

func TestSDKEmbeddings(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	s.Inf.SetScript(func(*inferencetest.Call) inferencetest.Answer {
		return inferencetest.Answer{Body: []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[4,0.5,0.25]},` +
			`{"object":"embedding","index":1,"embedding":[5,0.5,0.25]}],"model":"text-embedding-fake","usage":{"prompt_tokens":6,"total_tokens":6}}`)}
	})
	resp, err := sdk(s, "key-a").Embeddings.New(ctx(t), oai.EmbeddingNewParams{
		Model:      "text-embedding-fake",
		Input:      oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"abcd", "abcde"}},
		Dimensions: oai.Int(3),
	})
	require.NoError(t, err)
	require.Len(t, resp.Data, 2)
	require.Equal(t, []float64{4, 0.5, 0.25}, resp.Data[0].Embedding)
	require.Equal(t, int64(1), resp.Data[1].Index)
	require.Equal(t, int64(6), resp.Usage.TotalTokens)
	got, _ := s.Inf.LastCall("Embeddings")
	var sent struct {
		Input      []string `json:"input"`
		Dimensions int      `json:"dimensions"`
	}
	require.NoError(t, json.Unmarshal(got.Body, &sent))
	require.Equal(t, []string{"abcd", "abcde"}, sent.Input)
	require.Equal(t, 3, sent.Dimensions)
}

// /v1/models lists what inference offers the caller, in OpenAI's shape; a
// model inference does not offer it is 404 model_not_found.
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
	sdkcheck.RequireAPIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found", "model")
	got, _ := s.Inf.LastCall("GetModel")
	req, ok := got.Request.(*inferencev1.GetModelRequest)
	require.True(t, ok)
	require.Equal(t, "gpt-fake", req.GetModel())
}

// Inference's errors reach the client in OpenAI's exact shape: the status
// from the gRPC code, the OpenAI code, type and param from the ErrorInfo,
// Retry-After from the RetryInfo, the x-ratelimit-*-tokens headers of a TPM
// refusal (and no other metadata) from the ErrorInfo, for JSON and for a stream that failed
// before its first chunk; a server error's message is the edge's own. A
// spent budget says X-Should-Retry: false, which the SDKs obey instead of
// retrying a refusal that lasts until the month ends; other errors leave
// retrying to the SDK's own rules (Retry-After). A request without a key
// never reaches inference.
func TestInferenceErrorsInOpenAIShape(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "ka"})
	errs := map[string]inferencetest.APIError{
		"gpt-99":    {Code: codes.NotFound, Message: "The model 'gpt-99' does not exist.", OpenAICode: "model_not_found", Type: "invalid_request_error", Param: "model"},
		"forbidden": {Code: codes.PermissionDenied, Message: "not allowed", OpenAICode: "model_not_allowed", Type: "invalid_request_error", Param: "model"},
		"n2":        {Code: codes.InvalidArgument, Message: "n must be 1", OpenAICode: "invalid_argument", Type: "invalid_request_error", Param: "n"},
		"tpm": {Code: codes.ResourceExhausted, Message: "tokens per minute", OpenAICode: "rate_limit_exceeded", Type: "tokens", RetryAfter: 7 * time.Second,
			Metadata: map[string]string{"x-ratelimit-limit-tokens": "600", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6.5s", "set-cookie": "a=b"}},
		"tpm-later": {Code: codes.ResourceExhausted, Message: "tokens per minute", OpenAICode: "rate_limit_exceeded", Type: "tokens", RetryAfter: 204 * time.Second},
		"tpm-soon":  {Code: codes.ResourceExhausted, Message: "tokens per minute", OpenAICode: "rate_limit_exceeded", Type: "tokens", RetryAfter: 250 * time.Millisecond},
		"budget":    {Code: codes.ResourceExhausted, Message: "budget spent", OpenAICode: "insufficient_quota", Type: "insufficient_quota"},
		"tool":      {Code: codes.InvalidArgument, Message: "tool rm_rf is not allowed", OpenAICode: "tool_not_allowed", Type: "invalid_request_error", Param: "tools[0].function.name"},
		"down":      {Code: codes.Unavailable, Message: "upstream 10.1.2.3 refused sk-upstream-secret", OpenAICode: "upstream_unavailable", Type: "server_error"},
	}
	noRetry := map[string]bool{"budget": true}
	s.Inf.SetScript(func(c *inferencetest.Call) inferencetest.Answer {
		var b struct{ Model string }
		_ = json.Unmarshal(c.Body, &b)
		return inferencetest.Answer{Err: errs[b.Model].Err()}
	})
	for model, e := range errs {
		status := map[codes.Code]int{codes.NotFound: 404, codes.PermissionDenied: 403, codes.InvalidArgument: 400,
			codes.ResourceExhausted: 429, codes.Unavailable: 503}[e.Code]
		t.Run(model, func(t *testing.T) {
			user := []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hello")}
			_, err := sdk(s, "key-a").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: model, Messages: user})
			apiErr := sdkcheck.CheckAPIError(t, err, status, e.Type, e.OpenAICode, e.Param)
			if status < 500 {
				require.Equal(t, e.Message, apiErr.Message, "inference's message names the client's mistake")
			} else {
				require.NotContains(t, apiErr.Message, e.Message, "a server error's detail stays inside")
			}
			if e.RetryAfter > 0 {
				require.Equal(t, strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))), apiErr.Response.Header.Get("Retry-After"))
				require.Equal(t, strconv.FormatInt(e.RetryAfter.Milliseconds(), 10), apiErr.Response.Header.Get("Retry-After-Ms"),
					"the precise wait, which the SDKs read first (ADR 0135 §5)")
			}
			for k, v := range e.Metadata {
				if strings.HasPrefix(k, "x-ratelimit-") {
					require.Equal(t, v, apiErr.Response.Header.Get(k), "a TPM refusal carries the token headers")
				} else {
					require.Empty(t, apiErr.Response.Header.Get(k), "only the token headers become headers")
				}
			}
			if noRetry[model] {
				require.Equal(t, "false", apiErr.Response.Header.Get("X-Should-Retry"))
				n := len(s.Inf.Calls())
				retrying := oai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey("key-a"), option.WithMaxRetries(2))
				_, err := retrying.Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: model, Messages: user})
				sdkcheck.RequireAPIError(t, err, status, e.Type, e.OpenAICode, e.Param)
				require.Len(t, s.Inf.Calls(), n+1, "the SDK did not retry")
			} else {
				require.Empty(t, apiErr.Response.Header.Get("X-Should-Retry"), "the SDK's own rules decide")
			}
			stream := sdk(s, "key-a").Chat.Completions.NewStreaming(ctx(t), oai.ChatCompletionNewParams{Model: model, Messages: user})
			for stream.Next() {
			}
			sdkcheck.RequireAPIError(t, stream.Err(), status, e.Type, e.OpenAICode, e.Param)
		})
	}
	t.Run("no key", func(t *testing.T) {
		n := len(s.Inf.Calls())
		_, err := sdk(s, "unknown-key").Chat.Completions.New(ctx(t), oai.ChatCompletionNewParams{Model: "echo",
			Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("x")}})
		sdkcheck.RequireAPIError(t, err, http.StatusUnauthorized, "authentication_error", "missing_api_key", "")
		require.Len(t, s.Inf.Calls(), n)
	})
}

// What the edge itself refuses (the body is not one JSON object in UTF-8,
// "stream" is not a boolean, the body is over 4 MiB) is refused before
// inference is called. The rest of OpenAI's validation is inference's
// (tests/e2e TestOpenAIConformance/BadInput).
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
		{"stream not bool", "/v1/chat/completions", `{"model":"echo","stream":"yes","messages":[]}`, 400, "stream"},
		{"responses stream not bool", "/v1/responses", `{"model":"echo","stream":1,"input":"x"}`, 400, "stream"},
		{"body over 4 MiB", "/v1/chat/completions", big, 413, ""},
		{"embeddings over 4 MiB", "/v1/embeddings", big, 413, ""},
		{"embeddings not an object", "/v1/embeddings", `"x"`, 400, ""},
		// Invalid UTF-8 (issue 10): encoding/json would turn it into U+FFFD.
		{"chat invalid UTF-8", "/v1/chat/completions", "{\"model\":\"echo\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", 400, ""},
		{"streaming chat invalid UTF-8", "/v1/chat/completions", "{\"model\":\"echo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", 400, ""},
		{"embeddings invalid UTF-8", "/v1/embeddings", "{\"model\":\"rampart-hash-embed\",\"input\":\"x\xc3\"}", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, s, "key-a", tt.path, tt.body)
			// OpenAI answers every client mistake here, 413 included, with
			// type invalid_request_error.
			openaitest.RequireErrorBody(t, r.status, r.header, r.bytes, tt.status, "invalid_request_error", tt.param)
		})
	}
	require.Empty(t, s.Inf.Calls(), "nothing the edge refuses reaches inference")
}
