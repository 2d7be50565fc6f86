package local_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/provider"
	"github.com/rampart-platform/rampart/services/inference/internal/provider/local"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

func chat(t *testing.T, model, body string, ps ...provider.Passage) *provider.ChatResult {
	t.Helper()
	req, err := wire.ParseChat([]byte(body))
	require.NoError(t, err)
	res, err := local.New().Chat(t.Context(), &provider.ChatCall{UpstreamModel: model, Request: req, Passages: ps})
	require.NoError(t, err)
	return res
}

func TestExtractive(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		passages []provider.Passage
		want     []string
		notWant  []string
	}{
		{
			name: "quotes the matching sentence",
			body: `{"model":"x","messages":[{"role":"system","content":"Invoices are sent on the 1st. Payment is due within 14 days. Late payments incur a fee."},{"role":"user","content":"When is payment due?"}]}`,
			want: []string{`"Payment is due within 14 days." [1]`, "[1] system message"}, notWant: []string{"Invoices"},
		},
		{
			name:     "passages cited by source",
			body:     `{"model":"x","messages":[{"role":"user","content":"How many vacation days do employees get?"}]}`,
			passages: []provider.Passage{{ID: "d1#3", Source: "handbook.pdf", Text: "Employees get 25 vacation days per year.\nSick leave is separate."}},
			want:     []string{`"Employees get 25 vacation days per year." [1]`, "handbook.pdf (d1#3)"},
		},
		{
			name: "no match says so",
			body: `{"model":"x","messages":[{"role":"system","content":"The sky is blue."},{"role":"user","content":"What is the capital of Peru?"}]}`,
			want: []string{local.NoAnswer},
		},
		{
			name: "context in the question itself",
			body: `{"model":"x","messages":[{"role":"user","content":"Context: The server restarts nightly at 2am. Logs rotate weekly.\nQuestion: when does the server restart?"}]}`,
			want: []string{"The server restarts nightly at 2am."}, notWant: []string{"Logs rotate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := chat(t, local.Extractive, tt.body, tt.passages...)
			for _, w := range tt.want {
				require.Contains(t, res.Content, w)
			}
			for _, w := range tt.notWant {
				require.NotContains(t, res.Content, w)
			}
			again := chat(t, local.Extractive, tt.body, tt.passages...)
			require.Equal(t, res.Content, again.Content, "deterministic")
		})
	}
}

func TestEchoMaxTokens(t *testing.T) {
	res := chat(t, local.Echo, `{"model":"x","max_tokens":2,"messages":[{"role":"user","content":"a rather long message indeed"}]}`)
	require.Equal(t, "length", res.FinishReason)
	require.Equal(t, "a rather", res.Content)
}

func TestHashEmbedding(t *testing.T) {
	a := local.HashEmbedding("the quick brown fox", 128)
	b := local.HashEmbedding("the quick brown fox", 128)
	c := local.HashEmbedding("quick brown foxes jump", 128)
	d := local.HashEmbedding("tax invoices and receipts", 128)
	require.Equal(t, a, b)
	norm := 0.0
	cos := func(x, y []float32) float64 {
		s := 0.0
		for i := range x {
			s += float64(x[i] * y[i])
		}
		return s
	}
	for _, x := range a {
		norm += float64(x * x)
	}
	require.InDelta(t, 1, math.Sqrt(norm), 1e-5)
	require.Greater(t, cos(a, c), cos(a, d))
	require.Equal(t, make([]float32, 8), local.HashEmbedding("!!!", 8))
}
