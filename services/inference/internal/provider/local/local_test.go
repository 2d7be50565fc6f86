package local_test

import (
	"math"
	"strings"
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
		cites    []wire.Citation
	}{
		{
			name: "quotes the matching sentence",
			body: `{"model":"x","messages":[{"role":"system","content":"Invoices are sent on the 1st. Payment is due within 14 days. Late payments incur a fee."},{"role":"user","content":"When is payment due?"}]}`,
			want: []string{`"Payment is due within 14 days." [1]`, "[1] system message"}, notWant: []string{"Invoices"},
			cites: []wire.Citation{{Index: 1, Source: "system message", Quote: "Payment is due within 14 days.",
				Passages: []wire.CitedPassage{{Quote: "Payment is due within 14 days."}}}},
		},
		{
			name:     "passages cited by source",
			body:     `{"model":"x","messages":[{"role":"user","content":"How many vacation days do employees get?"}]}`,
			passages: []provider.Passage{{ID: "d1#3", Source: "handbook.pdf", Text: "Employees get 25 vacation days per year.\nSick leave is separate."}},
			want:     []string{`"Employees get 25 vacation days per year." [1]`, "handbook.pdf (d1#3)"},
			cites: []wire.Citation{{Index: 1, Source: "handbook.pdf (d1#3)", ChunkID: "d1#3", Quote: "Employees get 25 vacation days per year.",
				Passages: []wire.CitedPassage{{ChunkID: "d1#3", Quote: "Employees get 25 vacation days per year."}}}},
		},
		{
			name: "one citation per document, its number on each of its sentences",
			body: `{"model":"x","messages":[{"role":"user","content":"How many vacation days and sick days do employees get?"}]}`,
			passages: []provider.Passage{
				{ID: "d1:0", DocumentID: "d1", Source: "README.md", Heading: "Leave", Score: 0.9, Text: "Employees get 25 vacation days per year."},
				{ID: "d2:0", DocumentID: "d2", Source: "faq.md", Score: 0.8, Text: "Contractors get no vacation days."},
				{ID: "d1:4", DocumentID: "d1", Source: "README.md", Score: 0.7, Text: "Employees get 10 sick days per year."},
			},
			// the sick days' sentence shares the rarest term (sick): it leads
			want: []string{`"Employees get 10 sick days per year." [1] "Employees get 25 vacation days per year." [1]`,
				"Sources: [1] README.md; [2] faq.md"},
			notWant: []string{"[3]", "[2] README.md"},
			cites: []wire.Citation{
				{Index: 1, DocumentID: "d1", Source: "README.md", ChunkID: "d1:4", Quote: "Employees get 10 sick days per year.", Passages: []wire.CitedPassage{
					{ChunkID: "d1:4", Quote: "Employees get 10 sick days per year.", Score: 0.7},
					{ChunkID: "d1:0", Quote: "Employees get 25 vacation days per year.", Heading: "Leave", Score: 0.9}}},
				{Index: 2, DocumentID: "d2", Source: "faq.md", ChunkID: "d2:0", Quote: "Contractors get no vacation days.", Passages: []wire.CitedPassage{
					{ChunkID: "d2:0", Quote: "Contractors get no vacation days.", Score: 0.8}}},
			},
		},
		{
			// ADR 0133: the README's example question over docs/security.md and
			// the README, retrieval's order; before, the review log's sentence
			// of the first passage was quoted first and the README's command
			// line that asks the question was quoted as an answer
			name: "the best sentence leads; a passage asking the question is not an answer",
			body: `{"model":"x","messages":[{"role":"user","content":"How are API keys rotated?"}]}`,
			passages: []provider.Passage{
				{ID: "s:40", DocumentID: "s", Source: "docs/security.md", Score: 0.02, Text: "A leaked key holding it can be kept alive by rotating it, until an admin revokes the current replacement."},
				{ID: "s:7", DocumentID: "s", Source: "docs/security.md", Score: 0.019, Text: "Rotating an API key issues a replacement key and keeps the old one working for an overlap."},
				{ID: "r:3", DocumentID: "r", Source: "README.md", Score: 0.016, Text: `rampart search -c handbook "how are keys rotated" rampart chat -c handbook "How are API keys rotated?" # streams`},
			},
			want:    []string{`: "Rotating an API key issues a replacement key and keeps the old one working for an overlap." [1] "A leaked key`, "Sources: [1] docs/security.md"},
			notWant: []string{"rampart chat", "README.md"},
			cites: []wire.Citation{
				{Index: 1, DocumentID: "s", Source: "docs/security.md", ChunkID: "s:7", Quote: "Rotating an API key issues a replacement key and keeps the old one working for an overlap.", Passages: []wire.CitedPassage{
					{ChunkID: "s:7", Quote: "Rotating an API key issues a replacement key and keeps the old one working for an overlap.", Score: 0.019},
					{ChunkID: "s:40", Quote: "A leaked key holding it can be kept alive by rotating it, until an admin revokes the current replacement.", Score: 0.02}}},
			},
		},
		{
			name: "a short question's words are an answer's too",
			body: `{"model":"x","messages":[{"role":"user","content":"key rotation?"}]}`,
			passages: []provider.Passage{
				{ID: "s:1", DocumentID: "s", Source: "docs/security.md", Text: "Key rotation keeps the old key for 14 days."},
			},
			want: []string{`"Key rotation keeps the old key for 14 days." [1]`},
			cites: []wire.Citation{{Index: 1, DocumentID: "s", Source: "docs/security.md", ChunkID: "s:1", Quote: "Key rotation keeps the old key for 14 days.",
				Passages: []wire.CitedPassage{{ChunkID: "s:1", Quote: "Key rotation keeps the old key for 14 days."}}}},
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
			cites: []wire.Citation{{Index: 1, Source: "user message (question)", Quote: "The server restarts nightly at 2am.",
				Passages: []wire.CitedPassage{{Quote: "The server restarts nightly at 2am."}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := chat(t, local.Extractive, tt.body, tt.passages...)
			require.Equal(t, tt.cites, res.Citations)
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

// With response_format json_object echo answers a JSON object, as OpenAI
// guarantees: the message when it is one, else the message as "text".
func TestEchoJSONObject(t *testing.T) {
	for _, tc := range []struct{ message, want string }{
		{"hi json", `{"text":"hi json"}`},
		{`{\"a\":[1,2]}`, `{"a":[1,2]}`},
		{`[1,2]`, `{"text":"[1,2]"}`},
	} {
		res := chat(t, local.Echo, `{"model":"x","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"`+tc.message+`"}]}`)
		require.JSONEq(t, tc.want, res.Content, tc.message)
		require.Equal(t, "stop", res.FinishReason)
	}
}

// Echo ends its answer as a model does: at the first stop sequence (not
// included, finish_reason "stop"), else at max_tokens or
// max_completion_tokens ("length").
func TestEchoStopAndMaxTokens(t *testing.T) {
	const msg = `"messages":[{"role":"user","content":"a rather long message indeed"}]`
	for _, tc := range []struct{ name, params, content, finish string }{
		{"max_tokens", `"max_tokens":2`, "a rather", "length"},
		{"max_completion_tokens", `"max_completion_tokens":2`, "a rather", "length"},
		{"stop string", `"stop":" long"`, "a rather", "stop"},
		{"first of several stops", `"stop":["indeed","message"," rather"]`, "a", "stop"},
		{"stop absent from the answer", `"stop":["zzz"]`, "a rather long message indeed", "stop"},
		{"stop before the token limit", `"stop":"ther","max_tokens":2`, "a ra", "stop"},
		{"the token limit before the stop", `"stop":"indeed","max_tokens":2`, "a rather", "length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := chat(t, local.Echo, `{"model":"x",`+tc.params+`,`+msg+`}`)
			require.Equal(t, tc.content, res.Content)
			require.Equal(t, tc.finish, res.FinishReason)
		})
	}
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

// TestExtractiveRunOnSentence: ingestion squeezes a chunk's white space, so
// a README's fenced code block or list reaches the answerer as one run-on
// "sentence". The answer quotes the bounded part of it that shares most
// with the question, cut at word boundaries and marked "…", and the
// citation locates that part, not the whole run (docs/adr/0085).
func TestExtractiveRunOnSentence(t *testing.T) {
	tests := []struct {
		name, text, question string
		want                 []string // the quotes, in order
	}{
		{
			name: "fenced shell commands",
			text: "Quick start. ```sh git clone https://git.example.com/rampart.git cd rampart make tools make generate make build " +
				"./bin/rampart init --data-dir /var/lib/rampart --admin-email admin@example.com ./bin/rampart serve --config config/dev.yaml " +
				"--listen 127.0.0.1:8443 --log-level info ``` To run the unit tests of every module: ```sh go test -count=1 ./internal/... " +
				"cd tests/e2e && go test -count=1 -run TestRAG ./e2e ``` Lint with make lint.",
			question: "How do I run the unit tests?",
			want: []string{"…./bin/rampart serve --config config/dev.yaml --listen 127.0.0.1:8443 --log-level info ``` " +
				"To run the unit tests of every module: ```sh go test -count=1 ./internal/...",
				"cd tests/e2e && go test -count=1 -run TestRAG ./e2e ``` Lint with make lint."},
		},
		{
			name: "a list squeezed into one line",
			text: "Supported sources: - Markdown and plain text files up to 10 MiB - PDF documents with a text layer, scanned pages are skipped " +
				"- web pages fetched over HTTPS from allowed hosts - Slack channels the bot was invited to, threads included " +
				"- Google Drive folders shared with the service account, native documents exported as PDF - Confluence spaces by key",
			question: "Can Rampart ingest Slack channels?",
			want: []string{"…- Slack channels the bot was invited to, threads included " +
				"- Google Drive folders shared with the service account, native documents exported as PDF - Confluence spaces by key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// one verbatim span: a location inside it is the quoted part's own
			p := provider.Passage{ID: "r:0", DocumentID: "r", Source: "README.md", Text: tt.text, Spans: []provider.Span{
				{TextStart: 0, TextEnd: len(tt.text), Location: wire.Location{Start: 100, End: 100 + len(tt.text), Line: 3, LineEnd: 3}}}}
			res := chat(t, local.Extractive, `{"model":"x","messages":[{"role":"user","content":"`+tt.question+`"}]}`, p)
			require.Len(t, res.Citations, 1)
			var quotes []string
			for _, got := range res.Citations[0].Passages {
				quotes = append(quotes, got.Quote)
				require.Contains(t, res.Content, `"`+got.Quote+`" [1]`)
				require.LessOrEqual(t, len(got.Quote), 240+2*len("…"), "a bounded quote")
				part := strings.Trim(got.Quote, "…")
				at := strings.Index(tt.text, part)
				require.Equal(t, &wire.Location{Start: 100 + at, End: 100 + at + len(part), Line: 3, LineEnd: 3}, got.Location)
			}
			require.Equal(t, tt.want, quotes)
		})
	}
}
