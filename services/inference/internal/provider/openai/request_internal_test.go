package openai

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

var texts = []string{"", "Say hello.", "a\"b\\c", "\b\f\n\r\t\x00\x1f\x7f", "<b>&</b>", "é 日本 😀", "\u2028\u2029", "bad \xff utf-8"}

// randomRequest is a request with a random subset of the members
// appendUpstream writes (and, sometimes, one it leaves to json.Marshal).
func randomRequest(rng *rand.Rand) upstreamChat {
	text := func() string { return texts[rng.IntN(len(texts))] }
	maybe := func() bool { return rng.IntN(2) == 0 }
	f := func() *float64 {
		if maybe() {
			return nil
		}
		v := []float64{0, 1, 0.2, 1.5, 1e-7, 123456789, 1e21, -0.5}[rng.IntN(8)]
		return &v
	}
	n := func() *int {
		if maybe() {
			return nil
		}
		v := rng.IntN(5000) - 10
		return &v
	}
	bl := func() *bool {
		if maybe() {
			return nil
		}
		v := maybe()
		return &v
	}
	r := &wire.ChatRequest{Model: text(), Temperature: f(), TopP: f(), MaxTokens: n(), MaxCompletionTokens: n(), N: n(),
		User: text(), FrequencyPenalty: f(), PresencePenalty: f(), ParallelToolCalls: bl(), Store: bl(), Logprobs: bl(), Stream: maybe()}
	if maybe() {
		r.Messages = []wire.Message{}
		for range rng.IntN(4) {
			m := wire.Message{Role: text(), Name: text(), ToolCallID: text()}
			switch rng.IntN(4) {
			case 0:
				m.Content = wire.Content{Null: true, Set: true}
			case 1:
				m.Content = wire.Content{Text: text(), Set: true}
			case 2:
				m.Content = wire.Content{Text: text(), Parts: true, Set: true}
			}
			for range rng.IntN(3) {
				m.ToolCalls = append(m.ToolCalls, wire.ToolCall{ID: text(), Type: "function", Function: wire.ToolCallFunction{Name: text(), Arguments: text()}})
			}
			r.Messages = append(r.Messages, m)
		}
	}
	if maybe() {
		r.Stop = wire.StringList{}
		for range rng.IntN(3) {
			r.Stop = append(r.Stop, text())
		}
	}
	if maybe() {
		s := int64(rng.IntN(100)) - 50
		r.Seed = &s
	}
	if maybe() {
		r.ReasoningEffort = text()
	}
	if maybe() {
		r.Verbosity = text()
	}
	if maybe() {
		r.Metadata = map[string]string{}
		if maybe() {
			r.Metadata["k"] = text()
		}
	}
	switch rng.IntN(24) {
	case 0:
		r.Tools = []wire.Tool{{Type: "function", Function: wire.ToolFunction{Name: "f", Parameters: json.RawMessage(`{"type": "object"}`)}}}
	case 1:
		r.ToolChoice = json.RawMessage(`"auto"`)
	case 2:
		r.ResponseFormat = &wire.ResponseFormat{Type: "json_object"}
	case 3:
		r.Rampart = &wire.RequestExtension{Collections: []string{"c"}}
	case 4:
		r.StreamOptions = &wire.StreamOptions{IncludeUsage: true}
	case 5:
		r.Modalities = []string{"text"}
	case 6:
		r.ServiceTier = "auto"
	case 7:
		r.LogitBias = map[string]int{"50256": -100}
	}
	u := upstreamChat{ChatRequest: r, Model: text()}
	if maybe() {
		u.Stream, u.StreamOptions = true, &wire.StreamOptions{IncludeUsage: maybe()}
	}
	return u
}

// TestEncodeUpstreamMatchesMarshal: the bytes sent upstream are
// json.Marshal's, whichever way they were written.
func TestEncodeUpstreamMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // test data
	fast := 0
	for range 5000 {
		u := randomRequest(rng)
		want, err := json.Marshal(u)
		require.NoError(t, err)
		got, err := encodeUpstream(u)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		if _, ok := appendUpstream(nil, &u); ok {
			fast++
		}
	}
	require.Greater(t, fast, 2500, "most random requests take the writer")
}

func TestEncodeUpstreamRefusesWhatMarshalRefuses(t *testing.T) {
	nan := math.NaN()
	u := upstreamChat{ChatRequest: &wire.ChatRequest{Temperature: &nan}, Model: "m"}
	_, want := json.Marshal(u)
	_, got := encodeUpstream(u)
	require.Error(t, want)
	require.EqualError(t, got, want.Error())
}

func BenchmarkEncodeUpstream(b *testing.B) {
	req, err := wire.ParseChat([]byte(chatBodyInternal))
	require.NoError(b, err)
	u := upstreamChat{ChatRequest: req, Model: "gpt-4o-mini"}
	for _, bc := range []struct {
		name   string
		encode func(upstreamChat) ([]byte, error)
	}{
		{"encodeUpstream", encodeUpstream},
		{"json.Marshal", func(u upstreamChat) ([]byte, error) { return json.Marshal(u) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.encode(u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const chatBodyInternal = `{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello."}],"temperature":0.2}`
