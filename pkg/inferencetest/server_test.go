package inferencetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
)

type fixture struct {
	*grpctest.Fixture
	srv *inferencetest.Server
}

func start(t *testing.T, o inferencetest.Options) *fixture {
	t.Helper()
	fx := grpctest.NewFixture(t, "inference", "edge", "ingestion")
	o.Keys = fx.Keys()
	return &fixture{Fixture: fx, srv: inferencetest.Start(t, fx.Dir, o)}
}

func (f *fixture) client(t *testing.T, as string) inferencev1.InferenceServiceClient {
	t.Helper()
	return inferencev1.NewInferenceServiceClient(f.Dial(t, as, f.srv.Addr, "inference"))
}

func TestEchoChatAndRecording(t *testing.T) {
	f := start(t, inferencetest.Options{})
	c := f.client(t, "edge")
	ctx := f.As(t, &authv1.Principal{TenantId: "t1", KeyId: "k1"}, "x-request-id", "req-1")
	body := `{"model":"echo","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`
	resp, err := c.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: []byte(body)})
	require.NoError(t, err)
	var out struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message      struct{ Role, Content string } `json:"message"`
			FinishReason string                         `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &out), "%s", resp.GetBody())
	require.Equal(t, "chat.completion", out.Object)
	require.Equal(t, "echo", out.Model)
	require.Equal(t, "hello there", out.Choices[0].Message.Content)
	require.Equal(t, "stop", out.Choices[0].FinishReason)
	require.Positive(t, out.Usage.TotalTokens)

	call, ok := f.srv.LastCall("ChatCompletion")
	require.True(t, ok)
	require.JSONEq(t, body, string(call.Body))
	require.Equal(t, "t1", call.Principal.GetTenantId())
	require.Equal(t, pki.ServiceID("edge"), call.Caller)
	require.Equal(t, "req-1", call.RequestID)
}

func TestEchoStream(t *testing.T) {
	f := start(t, inferencetest.Options{})
	c := f.client(t, "edge")
	ctx := f.As(t, &authv1.Principal{TenantId: "t1"})
	for _, tc := range []struct {
		usage  bool
		chunks int
	}{{false, 1 + 3 + 1}, {true, 1 + 3 + 1 + 1}} {
		body := `{"model":"echo","stream":true,"stream_options":{"include_usage":` + map[bool]string{true: "true", false: "false"}[tc.usage] +
			`},"messages":[{"role":"user","content":[{"type":"text","text":"three little words"}]}]}`
		st, err := c.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Body: []byte(body)})
		require.NoError(t, err)
		text, n, sawUsage := "", 0, false
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			n++
			var ch struct {
				Object  string `json:"object"`
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
				Usage *struct{ TotalTokens int } `json:"usage"`
			}
			require.NoError(t, json.Unmarshal(m.GetChunk(), &ch))
			require.Equal(t, "chat.completion.chunk", ch.Object)
			for _, c := range ch.Choices {
				text += c.Delta.Content
			}
			sawUsage = sawUsage || ch.Usage != nil
		}
		require.Equal(t, "three little words", text)
		require.Equal(t, tc.chunks, n)
		require.Equal(t, tc.usage, sawUsage)
	}
}

func TestScriptedAnswersAndErrors(t *testing.T) {
	f := start(t, inferencetest.Options{})
	c := f.client(t, "edge")
	ctx := f.As(t, &authv1.Principal{TenantId: "t1"})

	// Echo refuses what it does not model.
	_, err := c.Embeddings(ctx, &inferencev1.EmbeddingsRequest{Body: []byte(`{}`)})
	require.Equal(t, codes.Unimplemented, status.Code(err))

	f.srv.SetScript(func(call *inferencetest.Call) inferencetest.Answer {
		switch call.Method {
		case "GetResponse":
			return inferencetest.Answer{Body: []byte(`{"id":"` + call.ID + `"}`)}
		case "StreamChatCompletion":
			return inferencetest.Answer{Headers: map[string]string{"x-ratelimit-remaining-tokens": "9"},
				Chunks: []*inferencev1.StreamChatCompletionResponse{inferencetest.Event("response.created", `{"type":"response.created"}`)},
				Err:    inferencetest.APIError{Code: codes.Unavailable, Message: "upstream down", OpenAICode: "upstream_unavailable", Type: "server_error"}.Err()}
		}
		return inferencetest.Answer{Err: inferencetest.APIError{Code: codes.ResourceExhausted, Message: "slow down",
			OpenAICode: "rate_limit_exceeded", Type: "tokens", RetryAfter: 2 * time.Second}.Err()}
	})
	got, err := c.GetResponse(ctx, &inferencev1.GetResponseRequest{Id: "resp_1"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id":"resp_1"}`, string(got.GetBody()))

	_, err = c.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: []byte(`{}`)})
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	info, ok := grpcerr.Detail[*errdetails.ErrorInfo](err)
	require.True(t, ok)
	require.Equal(t, grpcerr.OpenAIErrorDomain, info.GetDomain())
	require.Equal(t, "rate_limit_exceeded", info.GetReason())
	require.Equal(t, "tokens", info.GetMetadata()["type"])
	retry, ok := grpcerr.Detail[*errdetails.RetryInfo](err)
	require.True(t, ok)
	require.Equal(t, 2*time.Second, retry.GetRetryDelay().AsDuration())

	stream, err := c.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Body: []byte(`{}`), Format: inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES})
	require.NoError(t, err)
	m, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, "response.created", m.GetEvent())
	require.Equal(t, "9", m.GetHeaders()["x-ratelimit-remaining-tokens"])
	_, err = stream.Recv()
	require.Equal(t, codes.Unavailable, status.Code(err))
	call, _ := f.srv.LastCall("StreamChatCompletion")
	require.Equal(t, inferencev1.RequestFormat_REQUEST_FORMAT_RESPONSES, call.Format)
}

func TestHeldStreamSeesTheClientGo(t *testing.T) {
	f := start(t, inferencetest.Options{Script: func(*inferencetest.Call) inferencetest.Answer {
		return inferencetest.Answer{Chunks: []*inferencev1.StreamChatCompletionResponse{inferencetest.Chunk(`{"choices":[]}`)}, Hold: true}
	}})
	c := f.client(t, "edge")
	ctx, cancel := context.WithCancel(f.As(t, &authv1.Principal{TenantId: "t1"}))
	holding := f.srv.Holding()
	st, err := c.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Body: []byte(`{}`)})
	require.NoError(t, err)
	_, err = st.Recv()
	require.NoError(t, err)
	<-holding
	require.Zero(t, f.srv.Canceled())
	cancel()
	require.Eventually(t, func() bool { return f.srv.Canceled() == 1 }, 10*time.Second, 5*time.Millisecond)
}

func TestModelsPerTenantAndAllowList(t *testing.T) {
	f := start(t, inferencetest.Options{Models: []*inferencev1.Model{{Id: "echo", OwnedBy: "rampart"}, {Id: "gpt-x", OwnedBy: "openai"}}})
	f.srv.AddModel("t1", &inferencev1.Model{Id: "kb-it", OwnedBy: "t1"})
	c := f.client(t, "edge")
	ids := func(p *authv1.Principal) []string {
		resp, err := c.ListModels(f.As(t, p), &inferencev1.ListModelsRequest{})
		require.NoError(t, err)
		var out []string
		for _, m := range resp.GetModels() {
			out = append(out, m.GetId())
		}
		return out
	}
	require.Equal(t, []string{"echo", "gpt-x", "kb-it"}, ids(&authv1.Principal{TenantId: "t1"}))
	require.Equal(t, []string{"echo", "gpt-x"}, ids(&authv1.Principal{TenantId: "t2"}), "another tenant's assistant is not listed")
	require.Equal(t, []string{"echo"}, ids(&authv1.Principal{TenantId: "t1", AllowedModels: []string{"echo"}}))

	m, err := c.GetModel(f.As(t, &authv1.Principal{TenantId: "t1"}), &inferencev1.GetModelRequest{Model: "kb-it"})
	require.NoError(t, err)
	require.Equal(t, "t1", m.GetModel().GetOwnedBy())
	_, err = c.GetModel(f.As(t, &authv1.Principal{TenantId: "t2"}), &inferencev1.GetModelRequest{Model: "kb-it"})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.GetModel(f.As(t, &authv1.Principal{TenantId: "t1", AllowedModels: []string{"echo"}}), &inferencev1.GetModelRequest{Model: "gpt-x"})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestCallersAndPrincipalRequired(t *testing.T) {
	f := start(t, inferencetest.Options{Callers: []string{"edge"}})
	p := &authv1.Principal{TenantId: "t1"}
	_, err := f.client(t, "ingestion").ListModels(f.As(t, p), &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "a caller outside Callers")
	st, err := f.client(t, "ingestion").StreamChatCompletion(f.As(t, p), &inferencev1.StreamChatCompletionRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	require.Equal(t, codes.PermissionDenied, status.Code(err), "streams too")

	_, err = f.client(t, "edge").ListModels(t.Context(), &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "no assertion")

	forger := grpctest.NewSigner(t, f.Signer.KID()) // the kid the double trusts, another key
	tok, err := forger.Sign(p, time.Time{})
	require.NoError(t, err)
	_, err = f.client(t, "edge").ListModels(metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, tok), &inferencev1.ListModelsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "an assertion signed by another key")
	require.Len(t, f.srv.Calls(), 0, "refused calls are not served")

	_, err = f.client(t, "edge").ListModels(f.As(t, p), &inferencev1.ListModelsRequest{})
	require.NoError(t, err)
}

// TestEmbedForTenant: ingestion's call carries no principal (the tenant is
// named in the request and trusted from ingestion's identity alone, as the
// permission table says); another caller is refused, a model the tenant
// is not offered is NotFound, and the Embedder's vectors come back in
// input order.
func TestEmbedForTenant(t *testing.T) {
	f := start(t, inferencetest.Options{Embedder: func(_ *inferencetest.Call, in []string) ([][]float32, error) {
		out := make([][]float32, len(in))
		for i, s := range in {
			out[i] = []float32{float32(len(s)), float32(i)}
		}
		return out, nil
	}})
	f.srv.AddModel("t1", &inferencev1.Model{Id: "embed-1"})
	req := &inferencev1.EmbedForTenantRequest{TenantId: "t1", KeyId: "k1", Model: "embed-1", Inputs: []string{"ab", "abcd"}}

	tests := []struct {
		name string
		as   string
		req  *inferencev1.EmbedForTenantRequest
		code codes.Code
	}{
		{"ingestion, offered model", "ingestion", req, codes.OK},
		{"the edge may not call it", "edge", req, codes.PermissionDenied},
		{"model of another tenant", "ingestion", &inferencev1.EmbedForTenantRequest{TenantId: "t2", Model: "embed-1", Inputs: []string{"x"}}, codes.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := f.client(t, tc.as).EmbedForTenant(t.Context(), tc.req)
			require.Equal(t, tc.code, status.Code(err), "%v", err)
			if tc.code != codes.OK {
				return
			}
			require.Len(t, resp.GetVectors(), 2)
			require.Equal(t, []float32{2, 0}, resp.GetVectors()[0].GetValues())
			require.Equal(t, []float32{4, 1}, resp.GetVectors()[1].GetValues())
			require.Positive(t, resp.GetPromptTokens())
			c, ok := f.srv.LastCall("EmbedForTenant")
			require.True(t, ok)
			require.Equal(t, "t1", c.Tenant)
			require.Equal(t, "embed-1", c.Model)
			require.Equal(t, pki.ServiceID("ingestion"), c.Caller)
		})
	}
}
