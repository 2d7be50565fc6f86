package server_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

const legacy = inferencev1.RequestFormat_REQUEST_FORMAT_COMPLETIONS

type textCompletion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Text         string          `json:"text"`
		Index        int             `json:"index"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func TestLegacyCompletions(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx(t, principalFor("t1", "k1"))
	t.Run("string prompt", func(t *testing.T) {
		resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Format: legacy,
			Body: []byte(`{"model":"echo","prompt":"Say this is a test","max_tokens":50,"temperature":0}`)})
		require.NoError(t, err)
		var c textCompletion
		require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
		require.Equal(t, "text_completion", c.Object)
		require.Regexp(t, `^cmpl-`, c.ID)
		require.Equal(t, "echo", c.Model)
		require.Len(t, c.Choices, 1)
		require.Equal(t, "Say this is a test", c.Choices[0].Text)
		require.Equal(t, "stop", *c.Choices[0].FinishReason)
		require.JSONEq(t, "null", string(c.Choices[0].Logprobs))
		require.Positive(t, c.Usage.PromptTokens)
		require.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
	})
	t.Run("array prompt answers one choice per prompt", func(t *testing.T) {
		resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Format: legacy,
			Body: []byte(`{"model":"echo","prompt":["first","second one"]}`)})
		require.NoError(t, err)
		var c textCompletion
		require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
		require.Len(t, c.Choices, 2)
		for i, want := range []string{"first", "second one"} {
			require.Equal(t, i, c.Choices[i].Index)
			require.Equal(t, want, c.Choices[i].Text)
		}
	})
	t.Run("stream with usage", func(t *testing.T) {
		st, err := e.client.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Format: legacy,
			Body: []byte(`{"model":"echo","prompt":["one two three","four"],"stream":true,"stream_options":{"include_usage":true}}`)})
		require.NoError(t, err)
		texts := map[int]string{}
		var chunks []textCompletion
		for {
			msg, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			var c textCompletion
			require.NoError(t, json.Unmarshal(msg.GetChunk(), &c))
			require.Equal(t, "text_completion", c.Object)
			chunks = append(chunks, c)
			for _, ch := range c.Choices {
				texts[ch.Index] += ch.Text
			}
		}
		require.Equal(t, map[int]string{0: "one two three", 1: "four"}, texts)
		last := chunks[len(chunks)-1]
		require.Empty(t, last.Choices)
		require.NotNil(t, last.Usage)
		require.Positive(t, last.Usage.TotalTokens)
		require.Equal(t, "stop", *chunks[len(chunks)-2].Choices[0].FinishReason)
		require.Equal(t, chunks[0].ID, last.ID, "one id for the whole stream")
	})
}

func TestLegacyCompletionErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, body, param string
		code              codes.Code
	}{
		{"missing prompt", `{"model":"echo"}`, "prompt", codes.InvalidArgument},
		{"empty prompt array", `{"model":"echo","prompt":[]}`, "prompt", codes.InvalidArgument},
		{"token array prompt", `{"model":"echo","prompt":[1,2,3]}`, "prompt", codes.InvalidArgument},
		{"echo", `{"model":"echo","prompt":"x","echo":true}`, "echo", codes.InvalidArgument},
		{"logprobs", `{"model":"echo","prompt":"x","logprobs":2}`, "logprobs", codes.InvalidArgument},
		{"best_of", `{"model":"echo","prompt":"x","best_of":3}`, "best_of", codes.InvalidArgument},
		{"unknown parameter", `{"model":"echo","prompt":"x","messages":[]}`, "messages", codes.InvalidArgument},
		{"chat rule keeps its name", `{"model":"echo","prompt":"x","temperature":3}`, "temperature", codes.InvalidArgument},
		{"unknown model", `{"model":"gpt-17","prompt":"x"}`, "model", codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Format: legacy, Body: []byte(tt.body)})
			code, _, param := errInfo(t, err)
			require.Equal(t, tt.code, code, status.Convert(err).Message())
			require.Equal(t, tt.param, param)
		})
	}
}
