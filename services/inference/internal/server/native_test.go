package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// nativeEnv runs inference with an upstream that serves the Responses API
// (the fake speaks its JSON and SSE wire format): "gpt-native" forwards
// /v1/responses to it, "gpt-chat" (same upstream) translates to chat.
func nativeEnv(t *testing.T) (*env, *openaitest.Upstream) {
	t.Helper()
	fake := &openaitest.Upstream{}
	reg := `{
  "upstreams": {` + fakeUpstream(t, fake) + `},
  "models": [
    {"id": "gpt-native", "upstream": "fake", "upstream_model": "gpt-4.1-upstream", "responses_api": "native", "input_usd_per_mtok": 1},
    {"id": "gpt-chat", "upstream": "fake", "upstream_model": "gpt-4o-mini"}
  ],
  "tenants": {"t-log": {"allowed_models": ["*"], "prompt_logging": true}}
}`
	return startEnv(t, servertest.Options{Models: []byte(reg), ToolPolicy: []byte(tools),
		Keyvault: func(*keyvaulttest.Server) {},
		Ingestion: func(f *ingestiontest.Server) {
			f.Add("t1", "handbook", &ingestionv1.Passage{ChunkId: "doc-vpn:0", DocumentId: "doc-vpn", Source: "vpn.md", Text: vpnText})
		}}), fake
}

// upstreamBody is the last request the fake received, decoded.
type upstreamBody struct {
	Model        string           `json:"model"`
	Instructions string           `json:"instructions"`
	Store        *bool            `json:"store"`
	Stream       bool             `json:"stream"`
	Messages     []any            `json:"messages"`
	Metadata     any              `json:"metadata"`
	Reasoning    json.RawMessage  `json:"reasoning"`
	Input        []map[string]any `json:"input"`
}

func lastUpstream(t *testing.T, fake *openaitest.Upstream) upstreamBody {
	t.Helper()
	var b upstreamBody
	require.NoError(t, json.Unmarshal(fake.LastBody(), &b), "%s", fake.LastBody())
	return b
}

type nativeResponse struct {
	responseObject
	Rampart *struct {
		Citations []ragCitation `json:"citations"`
		Stripped  []struct {
			Name string `json:"name"`
		} `json:"stripped_tool_calls"`
	} `json:"rampart"`
	Raw []json.RawMessage
}

func (e *env) native(t *testing.T, body string) (nativeResponse, error) {
	t.Helper()
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
	if err != nil {
		return nativeResponse{}, err
	}
	var r nativeResponse
	require.NoError(t, json.Unmarshal(resp.GetBody(), &r), "%s", resp.GetBody())
	var raw struct {
		Output []json.RawMessage `json:"output"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &raw))
	r.Raw = raw.Output
	require.Equal(t, "response", r.Object)
	require.Regexp(t, `^resp_[0-9A-Za-z]{24}$`, r.ID, "Rampart's own id, not the upstream's")
	return r, nil
}

func TestNativeResponses(t *testing.T) {
	e, fake := nativeEnv(t)

	t.Run("text: forwarded to the upstream's /responses with its model name, never stored there", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","instructions":"be brief","input":"hello native world","metadata":{"k":"v"}}`)
		require.NoError(t, err)
		require.Equal(t, "gpt-native", r.Model)
		require.Equal(t, "completed", r.Status)
		require.Len(t, r.Output, 1)
		require.Equal(t, "msg_fake1", r.Output[0].ID, "the upstream's items as it sent them")
		require.Equal(t, "hello native world", r.Output[0].Content[0].Text)
		// The fake's usage: 20 + len/4 + len(instructions)/4 in, 2 + words out.
		require.Equal(t, 20+18/4+8/4, r.Usage.InputTokens)
		require.Equal(t, 2+3, r.Usage.OutputTokens)
		up := lastUpstream(t, fake)
		require.Equal(t, "gpt-4.1-upstream", up.Model)
		require.Equal(t, "be brief", up.Instructions)
		require.NotNil(t, up.Store)
		require.False(t, *up.Store, "store is always false upstream: OpenAI stores by default")
		require.Nil(t, up.Metadata, "metadata stays at Rampart")
		require.Nil(t, up.Messages)
		require.Equal(t, []map[string]any{{"type": "message", "role": "user", "content": "hello native world"}}, up.Input)
	})

	t.Run("usage recorded is the upstream's", func(t *testing.T) {
		before := fake.Requests()
		_, err := e.native(t, `{"model":"gpt-native","input":"count me"}`)
		require.NoError(t, err)
		require.Equal(t, before+1, fake.Requests())
		p := principalFor("t1", "k-usage")
		_, err = e.client.ChatCompletion(e.ctx(t, p), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"gpt-native","input":"two words"}`)})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			u, err := e.client.GetUsage(e.ctx(t, p), &inferencev1.GetUsageRequest{GroupBy: "key"})
			if err != nil {
				return false
			}
			for _, b := range u.GetBuckets() {
				if b.GetGroup() == "k-usage" {
					return b.GetPromptTokens() == int64(20+9/4) && b.GetCompletionTokens() == 2+2
				}
			}
			return false
		}, 10*time.Second, 50*time.Millisecond)
	})

	t.Run("translate stays the default: the other model goes through chat", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-chat","input":"via chat"}`)
		require.NoError(t, err)
		require.Equal(t, "via chat", r.Output[0].Content[0].Text)
		require.NotNil(t, lastUpstream(t, fake).Messages, "sent to /chat/completions")
	})

	t.Run("reasoning is forwarded and the reasoning item passes through", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","input":"think","reasoning":{"effort":"low"}}`)
		require.NoError(t, err)
		require.JSONEq(t, `{"effort":"low"}`, string(lastUpstream(t, fake).Reasoning))
		require.Len(t, r.Raw, 2)
		require.JSONEq(t, `{"type":"reasoning","id":"rs_fake1","summary":[{"type":"summary_text","text":"thought about it"}]}`, string(r.Raw[0]))
		require.Equal(t, "think", r.Output[1].Content[0].Text)
	})

	// Stateless reasoning as OpenAI documents it for store false (which
	// Rampart always sends upstream): include reasoning.encrypted_content,
	// then send the output back as input, the reasoning item in its place.
	t.Run("include is forwarded; encrypted reasoning items go back upstream in place, bare ones are dropped", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","input":"think","reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"]}`)
		require.NoError(t, err)
		require.JSONEq(t, `{"type":"reasoning","id":"rs_fake1","summary":[{"type":"summary_text","text":"thought about it"}],"encrypted_content":"enc-fake-1"}`, string(r.Raw[0]))
		input := `[{"role":"user","content":"think"},` + string(r.Raw[0]) + `,` + string(r.Raw[1]) + `,{"role":"user","content":"again"}]`
		r, err = e.native(t, `{"model":"gpt-native","input":`+input+`,"reasoning":{"effort":"low"},"include":["reasoning.encrypted_content"]}`)
		require.NoError(t, err)
		require.JSONEq(t, `{"type":"reasoning","id":"rs_fake1","summary":[{"type":"summary_text","text":"thought about it again (1 earlier)"}],"encrypted_content":"enc-fake-2"}`, string(r.Raw[0]))
		up := lastUpstream(t, fake)
		require.Equal(t, []map[string]any{
			{"type": "message", "role": "user", "content": "think"},
			{"type": "reasoning", "id": "rs_fake1", "summary": []any{map[string]any{"type": "summary_text", "text": "thought about it"}}, "encrypted_content": "enc-fake-1"},
			{"type": "message", "role": "assistant", "content": "think"},
			{"type": "message", "role": "user", "content": "again"},
		}, up.Input)
		var inc struct {
			Include []string `json:"include"`
		}
		require.NoError(t, json.Unmarshal(fake.LastBody(), &inc))
		require.Equal(t, []string{"reasoning.encrypted_content"}, inc.Include)

		// Without encrypted_content the item names reasoning the upstream
		// never kept (it would answer 404): dropped.
		r, err = e.native(t, `{"model":"gpt-native","input":[{"role":"user","content":"think"},{"type":"reasoning","id":"rs_fake1","summary":[]},{"role":"assistant","content":"think"},{"role":"user","content":"again"}]}`)
		require.NoError(t, err)
		require.Equal(t, "again", r.Output[0].Content[0].Text)
		require.Len(t, lastUpstream(t, fake).Input, 3)
	})

	t.Run("on the chat path reasoning items are dropped and include adds nothing, logprobs aside", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-chat","include":["reasoning.encrypted_content","file_search_call.results"],"input":[{"role":"user","content":"think"},{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"enc"},{"role":"assistant","content":"ok"},{"role":"user","content":"via chat"}]}`)
		require.NoError(t, err)
		require.Equal(t, "via chat", r.Output[0].Content[0].Text)
		require.Len(t, lastUpstream(t, fake).Messages, 3)
		// (no reason: the edge answers invalid_argument)
		for body, want := range map[string][2]string{
			`{"model":"gpt-chat","input":"x","include":["reasoning.encrypted_content","message.output_text.logprobs"]}`: {"unsupported_value", "include[1]"},
			`{"model":"gpt-native","input":"x","include":["bogus"]}`:                                                    {"", "include[0]"},
			`{"model":"gpt-native","input":[{"type":"reasoning","summary":[]}]}`:                                        {"", "input[0].id"},
			`{"model":"gpt-native","input":[{"type":"reasoning","id":"rs_1"}]}`:                                         {"", "input[0].summary"},
			`{"model":"gpt-native","input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"x","text":"y"}]}]}`:     {"", "input[0].summary[0].type"},
		} {
			_, err := e.native(t, body)
			code, reason, param := errInfo(t, err)
			require.Equal(t, codes.InvalidArgument, code, "%s: %v", body, err)
			require.Equal(t, want[0], reason, body)
			require.Equal(t, want[1], param, body)
		}
	})

	weather := `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	t.Run("an allowed function call", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","input":"call:get_weather {\"city\":\"Paris\"}",`+weather+`}`)
		require.NoError(t, err)
		require.Len(t, r.Output, 1)
		require.Equal(t, "function_call", r.Output[0].Type)
		require.Equal(t, "get_weather", r.Output[0].Name)
		require.JSONEq(t, `{"city":"Paris"}`, r.Output[0].Arguments)
	})

	t.Run("a call the policy strips is left out and named", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","input":"call:get_weather {\"town\":\"Paris\"}",`+weather+`}`)
		require.NoError(t, err)
		require.Len(t, r.Output, 1)
		require.Equal(t, "message", r.Output[0].Type, "an empty message, as the translated path answers")
		require.NotNil(t, r.Rampart)
		require.Equal(t, "get_weather", r.Rampart.Stripped[0].Name)
	})

	t.Run("a tool outside the policy is refused before anything is forwarded", func(t *testing.T) {
		before := fake.Requests()
		_, err := e.native(t, `{"model":"gpt-native","input":"x","tools":[{"type":"function","name":"rm_rf"}]}`)
		code, reason, _ := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code, "%v", err)
		require.Equal(t, "tool_not_allowed", reason)
		require.Equal(t, before, fake.Requests())
	})

	t.Run("an upstream 400 keeps OpenAI's message and param", func(t *testing.T) {
		_, err := e.native(t, `{"model":"gpt-native","input":"badparam"}`)
		code, _, param := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code, "%v", err)
		require.Equal(t, "temperature", param)
		require.Contains(t, status.Convert(err).Message(), "must be at most 2")
	})

	t.Run("grounded: the passages travel in the instructions, citations come back", func(t *testing.T) {
		r, err := e.native(t, `{"model":"gpt-native","instructions":"be brief","input":"How often do certificates rotate? [1]","rampart":{"collections":["handbook"]}}`)
		require.NoError(t, err)
		up := lastUpstream(t, fake)
		require.True(t, strings.HasPrefix(up.Instructions, "be brief\n\nAnswer the user's question using only the numbered passages"), up.Instructions)
		require.Contains(t, up.Instructions, "[1] Source: vpn.md")
		require.NotNil(t, r.Rampart)
		require.Equal(t, "doc-vpn:0", r.Rampart.Citations[0].ChunkID)
	})

	t.Run("stored locally, chained with previous_response_id", func(t *testing.T) {
		first, err := e.native(t, `{"model":"gpt-native","input":"remember apples","store":true}`)
		require.NoError(t, err)
		require.True(t, first.Store)
		require.False(t, *lastUpstream(t, fake).Store)
		got, err := e.client.GetResponse(e.ctx(t, principalFor("t1", "k1")), &inferencev1.GetResponseRequest{Id: first.ID})
		require.NoError(t, err)
		require.Contains(t, string(got.GetBody()), "remember apples")
		_, err = e.native(t, `{"model":"gpt-native","input":"and pears","previous_response_id":"`+first.ID+`"}`)
		require.NoError(t, err)
		require.Equal(t, []map[string]any{
			{"type": "message", "role": "user", "content": "remember apples"},
			{"type": "message", "role": "assistant", "content": "remember apples"},
			{"type": "message", "role": "user", "content": "and pears"},
		}, lastUpstream(t, fake).Input)
		_, err = e.client.GetResponse(e.ctx(t, principalFor("t2", "k1")), &inferencev1.GetResponseRequest{Id: first.ID})
		require.Equal(t, codes.NotFound, status.Code(err), "another tenant's stored response")
	})
}

type nativeEvent struct {
	Type           string          `json:"type"`
	SequenceNumber int             `json:"sequence_number"`
	OutputIndex    *int            `json:"output_index"`
	Delta          string          `json:"delta"`
	Item           json.RawMessage `json:"item"`
	Response       *nativeResponse `json:"response"`
}

func (e *env) nativeStream(t *testing.T, body string) ([]nativeEvent, error) {
	t.Helper()
	st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
	require.NoError(t, err)
	var evs []nativeEvent
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		var ev nativeEvent
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &ev), "%s", msg.GetChunk())
		require.Equal(t, ev.Type, msg.GetEvent())
		require.Equal(t, len(evs), ev.SequenceNumber, "sequence numbers count from 0 without gaps")
		evs = append(evs, ev)
	}
}

func eventTypes(evs []nativeEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestNativeResponsesStream(t *testing.T) {
	e, fake := nativeEnv(t)

	t.Run("text: the upstream's events in order, Rampart's response object", func(t *testing.T) {
		evs, err := e.nativeStream(t, `{"model":"gpt-native","input":"one two three","stream":true}`)
		require.NoError(t, err)
		require.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}, eventTypes(evs))
		up := lastUpstream(t, fake)
		require.True(t, up.Stream)
		require.Equal(t, "gpt-4.1-upstream", up.Model)
		id := evs[0].Response.ID
		require.Regexp(t, `^resp_[0-9A-Za-z]{24}$`, id)
		text := ""
		for _, ev := range evs {
			text += ev.Delta
		}
		require.Equal(t, "one two three", text)
		final := evs[len(evs)-1].Response
		require.Equal(t, id, final.ID)
		require.Equal(t, "gpt-native", final.Model)
		require.Equal(t, "completed", final.Status)
		require.Equal(t, "one two three", final.Output[0].Content[0].Text)
		require.Equal(t, 20+13/4, final.Usage.InputTokens, "the upstream's usage")
		require.Equal(t, 2+3, final.Usage.OutputTokens)
	})

	weather := `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	t.Run("an allowed call streams after the reasoning item, held until complete", func(t *testing.T) {
		evs, err := e.nativeStream(t, `{"model":"gpt-native","stream":true,"reasoning":{"effort":"low"},"input":"call:get_weather {\"city\":\"Oslo\"}",`+weather+`}`)
		require.NoError(t, err)
		require.Equal(t, []string{"response.created", "response.in_progress",
			"response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
			"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
			"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done", "response.completed"}, eventTypes(evs))
		require.Equal(t, 1, *evs[8].OutputIndex)
		final := evs[len(evs)-1].Response
		require.Len(t, final.Output, 2)
		require.Equal(t, "function_call", final.Output[1].Type)
		require.JSONEq(t, `{"city":"Oslo"}`, final.Output[1].Arguments)
	})

	t.Run("a stripped call is never sent", func(t *testing.T) {
		evs, err := e.nativeStream(t, `{"model":"gpt-native","stream":true,"input":"call:get_weather {\"town\":\"Oslo\"}",`+weather+`}`)
		require.NoError(t, err)
		require.Equal(t, []string{"response.created", "response.in_progress", "response.output_item.added", "response.output_item.done",
			"response.completed"}, eventTypes(evs))
		require.Equal(t, 0, *evs[2].OutputIndex)
		final := evs[len(evs)-1].Response
		require.Len(t, final.Output, 1)
		require.Equal(t, "message", final.Output[0].Type)
		require.Equal(t, "get_weather", final.Rampart.Stripped[0].Name)
	})

	t.Run("an upstream error event ends the stream with an error, its text kept inside", func(t *testing.T) {
		evs, err := e.nativeStream(t, `{"model":"gpt-native","stream":true,"input":"errorevent"}`)
		require.Error(t, err)
		require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
		require.NotContains(t, err.Error(), "org-fake-secret")
		require.Contains(t, err.Error(), "server_error")
		require.NotEmpty(t, evs, "the error came after the stream began")
	})

	t.Run("an upstream 400 before the stream is the request's error", func(t *testing.T) {
		_, err := e.nativeStream(t, `{"model":"gpt-native","stream":true,"input":"badparam"}`)
		code, _, param := errInfo(t, err)
		require.Equal(t, codes.InvalidArgument, code, "%v", err)
		require.Equal(t, "temperature", param)
	})
}

// An assistant on a native model: its system prompt and its collections'
// passages reach the upstream as instructions, the response carries the
// assistant's name and the citations; and a tenant with prompt logging
// gets the native call logged (endpoint "responses").
func TestNativeResponsesAssistantAndPromptLog(t *testing.T) {
	e, fake := nativeEnv(t)
	_, err := e.client.CreateAssistant(e.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "native-kb", Model: "gpt-native", Collections: []string{"handbook"}, SystemPrompt: "You answer IT questions."}})
	require.NoError(t, err)
	r, err := e.native(t, `{"model":"native-kb","input":"How often do certificates rotate? [1]"}`)
	require.NoError(t, err)
	require.Equal(t, "native-kb", r.Model)
	up := lastUpstream(t, fake)
	require.Equal(t, "gpt-4.1-upstream", up.Model)
	require.True(t, strings.HasPrefix(up.Instructions, "You answer IT questions.\n\nAnswer the user's question using only the numbered passages"), up.Instructions)
	require.Contains(t, up.Instructions, "[1] Source: vpn.md")
	require.NotNil(t, r.Rampart)
	require.Equal(t, "doc-vpn:0", r.Rampart.Citations[0].ChunkID)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	logged := e.srv.Outgoing(ctx, t, principalFor("t-log", "k-log"), "x-request-id", "req-native-log")
	_, err = e.client.ChatCompletion(logged, &inferencev1.ChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"gpt-native","input":"log this native call"}`)})
	require.NoError(t, err)
	reader := principalFor("t-log", "k-log", func(p *authv1.Principal) { p.Roles = []string{"admin"} }) // usage:read and the admin role
	admin := e.srv.Outgoing(ctx, t, reader)
	got, err := e.client.GetPromptLog(admin, &inferencev1.GetPromptLogRequest{RequestId: "req-native-log"})
	require.NoError(t, err)
	require.Equal(t, "responses", got.GetLog().GetEndpoint())
	require.Equal(t, "gpt-native", got.GetLog().GetModel())
	require.Contains(t, got.GetLog().GetRequest(), "log this native call")
	require.Contains(t, got.GetLog().GetResponse(), `"object":"response"`)
}
