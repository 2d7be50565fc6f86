package server_test

import (
	"google.golang.org/protobuf/proto"

	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/openaitest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

type ragCitation struct {
	Index      int          `json:"index"`
	DocumentID string       `json:"document_id"`
	Source     string       `json:"source"`
	Title      string       `json:"title"`
	URL        string       `json:"url"`
	ChunkID    string       `json:"chunk_id"`
	Quote      string       `json:"quote"`
	Passages   []ragPassage `json:"passages,omitempty"`
}

type ragPassage struct {
	ChunkID  string       `json:"chunk_id"`
	Quote    string       `json:"quote"`
	Heading  string       `json:"heading"`
	Score    float64      `json:"score"`
	Location *ragLocation `json:"location"`
}

type ragLocation struct {
	Start   int `json:"start"`
	End     int `json:"end"`
	Line    int `json:"line"`
	LineEnd int `json:"line_end"`
	Page    int `json:"page"`
	PageEnd int `json:"page_end"`
}

// span is one located sentence of a fake ingestion passage.
func span(textStart, textEnd, start, end, line int) *ingestionv1.PassageSpan {
	return &ingestionv1.PassageSpan{TextStart: int32(textStart), TextEnd: int32(textEnd), //nolint:gosec // small test numbers
		Location: &ingestionv1.Location{Start: int32(start), End: int32(end), Line: proto.Int32(int32(line)), LineEnd: proto.Int32(int32(line))}} //nolint:gosec // as above
}

// withoutScores checks that every passage carries its search score (the
// fake ingestion's own) and drops it for comparison.
func withoutScores(t *testing.T, cs []ragCitation) []ragCitation {
	t.Helper()
	for i := range cs {
		for j := range cs[i].Passages {
			require.Positive(t, cs[i].Passages[j].Score, "%+v", cs[i].Passages[j])
			cs[i].Passages[j].Score = 0
		}
	}
	return cs
}

type ragCompletion struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Rampart *struct {
		Citations []ragCitation `json:"citations"`
		Warning   string        `json:"warning"`
	} `json:"rampart"`
}

// vpnText is shaped like ingestion's chunks: sentences joined by spaces,
// a Markdown heading run into the sentence after it.
const vpnText = "# VPN VPN certificates rotate every 45 days. The VPN gateway is vpn.example.com."

// ragEnv runs inference against a fake ingestion holding tenant t1's
// "handbook" (and tenant t2's "secret") collections, plus an
// OpenAI-compatible upstream "gpt-fake".
func ragEnv(t *testing.T) (*env, *openaitest.Upstream) {
	t.Helper()
	fake := &openaitest.Upstream{}
	reg := `{
  "upstreams": {` + fakeUpstream(t, fake) + `},
  "models": [
    {"id": "rampart-extractive", "upstream": "local"},
    {"id": "echo", "upstream": "local"},
    {"id": "gpt-fake", "upstream": "fake", "upstream_model": "gpt-4o-mini"}
  ]
}`
	return startEnv(t, servertest.Options{Keyvault: func(*keyvaulttest.Server) {}, Models: []byte(reg), Ingestion: func(f *ingestiontest.Server) {
		f.Add("t1", "handbook",
			&ingestionv1.Passage{ChunkId: "doc-vpn:0", DocumentId: "doc-vpn", Source: "vpn.md", Text: vpnText,
				Spans: []*ingestionv1.PassageSpan{span(0, 44, 0, 44, 1), span(45, 80, 46, 81, 2)}},
			&ingestionv1.Passage{ChunkId: "doc-wiki:3", DocumentId: "doc-wiki", Source: "https://wiki.example.com/lunch", Title: "Cafeteria",
				Heading: "Food > Lunch", Url: "https://wiki.example.com/lunch", Text: "Lunch is served from noon in the cafeteria."})
		// Two chunks of one policy document and one of another.
		f.Add("t1", "policies",
			&ingestionv1.Passage{ChunkId: "doc-keys:0", DocumentId: "doc-keys", Source: "keys.md", Heading: "Keys", Text: "API keys rotate every 90 days.",
				Spans: []*ingestionv1.PassageSpan{span(0, 30, 12, 42, 3)}},
			// doc-tok:1 and doc-keys:4 were ingested before locations: none
			&ingestionv1.Passage{ChunkId: "doc-tok:1", DocumentId: "doc-tok", Source: "tokens.md", Text: "Session tokens expire after 8 hours."},
			&ingestionv1.Passage{ChunkId: "doc-keys:4", DocumentId: "doc-keys", Source: "keys.md", Heading: "Keys > Revocation", Text: "A revoked key stops at once."})
		f.Add("t2", "secret", &ingestionv1.Passage{ChunkId: "doc-x:0", DocumentId: "doc-x", Source: "x.md", Text: "Tenant two's certificates rotate every 7 days."})
	}}), fake
}

func ragBody(model, ext string, msgs ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"` + model + `","messages":[`)
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(',')
		}
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		b.WriteString(`{"role":"` + role + `","content":` + quote(m) + `}`)
	}
	b.WriteString(`]` + ext + `}`)
	return []byte(b.String())
}

func TestRAGExtractiveAnswersFromTheTenantsDocuments(t *testing.T) {
	e, _ := ragEnv(t)
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"rampart":{"collections":["handbook"],"top_k":4}`, "How often do VPN certificates rotate?")})
	require.NoError(t, err)
	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	answer := c.Choices[0].Message.Content
	require.Contains(t, answer, `"VPN VPN certificates rotate every 45 days." [1]`)
	require.NotContains(t, answer, "gateway", "a sentence sharing only the topic word is not quoted")
	require.Contains(t, answer, "[1] vpn.md")
	require.NotContains(t, answer, "message", "a grounded answer never cites a message")
	require.NotContains(t, answer, "7 days", "another tenant's document is never searched")
	require.NotNil(t, c.Rampart)
	require.Equal(t, []ragCitation{{Index: 1, DocumentID: "doc-vpn", Source: "vpn.md", ChunkID: "doc-vpn:0", Quote: "VPN VPN certificates rotate every 45 days.",
		Passages: []ragPassage{{ChunkID: "doc-vpn:0", Quote: "VPN VPN certificates rotate every 45 days.",
			Location: &ragLocation{Start: 2, End: 44, Line: 1, LineEnd: 1}}}}}, withoutScores(t, c.Rampart.Citations), "the quoted sentence's own characters")

	// The search ran as tenant t1 (the forwarded principal), in t1's collection.
	s := e.srv.Ingestion.Searches()
	require.Len(t, s, 1)
	require.Equal(t, ingestiontest.Search{Tenant: "t1", Collection: "handbook", Query: "How often do VPN certificates rotate?", TopK: 4}, s[0])
}

func TestRAGStreamCarriesCitationsInTheFinalChunk(t *testing.T) {
	e, _ := ragEnv(t)
	st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"stream":true,"rampart":{"collections":["handbook"]}`, "When is lunch served?")})
	require.NoError(t, err)
	text, cites, inFinal := readRAGStream(t, st)
	require.True(t, inFinal, "the citations ride on the final chunk")
	require.Contains(t, text, "Lunch is served from noon in the cafeteria.")
	require.Equal(t, []ragCitation{{Index: 1, DocumentID: "doc-wiki", Source: "https://wiki.example.com/lunch", Title: "Cafeteria", URL: "https://wiki.example.com/lunch",
		ChunkID: "doc-wiki:3", Quote: "Lunch is served from noon in the cafeteria.",
		Passages: []ragPassage{{ChunkID: "doc-wiki:3", Quote: "Lunch is served from noon in the cafeteria.", Heading: "Food > Lunch"}}}}, withoutScores(t, cites))
}

func TestRAGFollowUpSearchesWithThePreviousTurns(t *testing.T) {
	e, _ := ragEnv(t)
	_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"rampart":{"collections":["handbook"]}`,
			"Tell me about VPN certificates.", "They are documented.", "How often do they rotate?")})
	require.NoError(t, err)
	s := e.srv.Ingestion.Searches()
	require.Len(t, s, 1)
	require.Equal(t, "Tell me about VPN certificates.\nHow often do they rotate?", s[0].Query)
}

func TestRAGNothingRelevantSaysSo(t *testing.T) {
	e, fake := ragEnv(t)
	for _, model := range []string{"rampart-extractive", "gpt-fake"} {
		t.Run(model, func(t *testing.T) {
			before := fake.Requests()
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
				Body: ragBody(model, `,"rampart":{"collections":["handbook"]}`, "What is the parental leave policy?")})
			require.NoError(t, err)
			var c ragCompletion
			require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
			require.Equal(t, "The documents in the collection `handbook` do not contain an answer to this question.", c.Choices[0].Message.Content)
			require.Nil(t, c.Rampart)
			require.Equal(t, before, fake.Requests(), "no model is asked when nothing was found")
		})
	}
	// Passages that match the query but not the question: the extractive
	// answerer says the documents do not contain it.
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"rampart":{"collections":["handbook"],"min_score":0}`, "Lunch menu? What does it cost?")})
	require.NoError(t, err)
	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.NotContains(t, c.Choices[0].Message.Content, "45 days")
}

func TestRAGLanguageModelGetsNumberedPassages(t *testing.T) {
	e, fake := ragEnv(t)
	// The fake upstream echoes the last user message: a question ending in
	// "[1]" stands for a model answer citing passage 1.
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: []byte(`{"model":"gpt-fake","messages":[{"role":"system","content":"You are the IT helpdesk."},{"role":"user","content":"How often do VPN certificates rotate? [1]"}],"rampart":{"collections":["handbook"],"top_k":2}}`)})
	require.NoError(t, err)
	var up struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	body := fake.LastBody()
	require.NoError(t, json.Unmarshal(body, &up))
	require.NotContains(t, string(body), `"rampart"`, "the extension is never forwarded upstream")
	require.Len(t, up.Messages, 3)
	require.Equal(t, "You are the IT helpdesk.", up.Messages[0].Content, "the caller's system prompt comes first")
	require.Equal(t, "system", up.Messages[1].Role)
	require.Contains(t, up.Messages[1].Content, "[1] Source: vpn.md\n<<<\n"+vpnText+"\n>>>")
	require.Contains(t, up.Messages[1].Content, "do not make anything up")

	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.Len(t, c.Rampart.Citations, 1, "only the cited passage")
	require.Equal(t, "doc-vpn:0", c.Rampart.Citations[0].ChunkID)
	require.Equal(t, "vpn.md", c.Rampart.Citations[0].Source)
	require.Equal(t, vpnText, c.Rampart.Citations[0].Quote)
}

// TestRAGLanguageModelCitesDocuments: a language model's [n] names a
// document (ADR 0079), so a JSON answer, a stream and a Responses API
// answer carry the same citations: one per document, in the answer's order
// of first mention, with the passages it was given.
func TestRAGLanguageModelCitesDocuments(t *testing.T) {
	e, fake := ragEnv(t)
	// The fake upstream echoes the question: it stands for a model
	// answer citing document 2, then 1, then 2 again.
	const answer = "Tokens expire after 8 hours [2]; keys rotate every 90 days [1] and are revoked at once [1][2]."
	ctx := e.ctx(t, principalFor("t1", "k1"))
	ext := `,"rampart":{"collections":["policies"],"top_k":3}`
	want := []ragCitation{
		{Index: 2, DocumentID: "doc-tok", Source: "tokens.md", ChunkID: "doc-tok:1", Quote: "Session tokens expire after 8 hours.",
			Passages: []ragPassage{{ChunkID: "doc-tok:1", Quote: "Session tokens expire after 8 hours."}}},
		{Index: 1, DocumentID: "doc-keys", Source: "keys.md", ChunkID: "doc-keys:0", Quote: "API keys rotate every 90 days.",
			Passages: []ragPassage{{ChunkID: "doc-keys:0", Quote: "API keys rotate every 90 days.", Heading: "Keys", Location: &ragLocation{Start: 12, End: 42, Line: 3, LineEnd: 3}},
				{ChunkID: "doc-keys:4", Quote: "A revoked key stops at once.", Heading: "Keys > Revocation"}}},
	}

	t.Run("json", func(t *testing.T) {
		resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Body: ragBody("gpt-fake", ext, answer)})
		require.NoError(t, err)
		var c ragCompletion
		require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
		require.Equal(t, answer, c.Choices[0].Message.Content)
		require.Equal(t, want, withoutScores(t, c.Rampart.Citations))
		// The model saw keys.md once, as [1], with both its passages.
		sys := fake.LastBody()
		require.Equal(t, 1, strings.Count(string(sys), "Source: keys.md"), "%s", sys)
		require.Contains(t, string(sys), `[1] Source: keys.md\nSection: Keys\n\u003c\u003c\u003c\nAPI keys rotate every 90 days.`)
		require.Contains(t, string(sys), `[2] Source: tokens.md`)
	})
	t.Run("stream", func(t *testing.T) {
		st, err := e.client.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Body: ragBody("gpt-fake", `,"stream":true`+ext, answer)})
		require.NoError(t, err)
		text, cites, _ := readRAGStream(t, st)
		require.Equal(t, answer, text)
		require.Equal(t, want, withoutScores(t, cites))
	})
	t.Run("responses", func(t *testing.T) {
		resp, err := e.client.ChatCompletion(ctx, &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"gpt-fake","input":` + quote(answer) + ext + `}`)})
		require.NoError(t, err)
		var r struct {
			Rampart struct {
				Citations []ragCitation `json:"citations"`
			} `json:"rampart"`
		}
		require.NoError(t, json.Unmarshal(resp.GetBody(), &r), "%s", resp.GetBody())
		require.Equal(t, want, withoutScores(t, r.Rampart.Citations))
	})
	t.Run("responses stream", func(t *testing.T) {
		st, err := e.client.StreamChatCompletion(ctx, &inferencev1.StreamChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"gpt-fake","stream":true,"input":` + quote(answer) + ext + `}`)})
		require.NoError(t, err)
		var cites []ragCitation
		for {
			msg, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			var ev struct {
				Type     string `json:"type"`
				Response struct {
					Rampart struct {
						Citations []ragCitation `json:"citations"`
					} `json:"rampart"`
				} `json:"response"`
			}
			require.NoError(t, json.Unmarshal(msg.GetChunk(), &ev))
			if ev.Type == "response.completed" {
				cites = ev.Response.Rampart.Citations
			}
		}
		require.Equal(t, want, withoutScores(t, cites), "response.completed carries the citations with their locations")
	})
}

// TestRAGAssistantCitesOnlyItsCollections: a chat-only key asking an
// assistant gets citations from the assistant's collections only, searched
// as its own tenant; the tenant's other collections are never searched,
// even when the answer's markers point past the passages given.
func TestRAGAssistantCitesOnlyItsCollections(t *testing.T) {
	e, _ := ragEnv(t)
	_, err := e.client.CreateAssistant(e.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-policies", Model: "gpt-fake", Collections: []string{"policies"}}})
	require.NoError(t, err)
	chatOnly := principalFor("t1", "k1", func(p *authv1.Principal) { p.Scopes = []string{"chat:write"} })
	before := len(e.srv.Ingestion.Searches())
	resp, err := e.client.ChatCompletion(e.ctx(t, chatOnly), &inferencev1.ChatCompletionRequest{
		Body: ragBody("kb-policies", "", "How often do VPN certificates rotate? [1][2][3][4]")})
	require.NoError(t, err)
	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.NotNil(t, c.Rampart)
	var docs []string
	for _, cite := range c.Rampart.Citations {
		docs = append(docs, cite.DocumentID)
		require.NotContains(t, cite.Quote, "45 days")
	}
	require.NotEmpty(t, docs)
	require.Subset(t, []string{"doc-keys", "doc-tok"}, docs, "only the assistant's collection; markers past its passages name nothing")
	searches := e.srv.Ingestion.Searches()[before:]
	require.NotEmpty(t, searches)
	for _, s := range searches {
		require.Equal(t, "t1", s.Tenant)
		require.Equal(t, "policies", s.Collection)
	}
}

func TestRAGBadInput(t *testing.T) {
	e, _ := ragEnv(t)
	tests := []struct {
		name, ext string
		code      codes.Code
		param     string
		msg       string
	}{
		{"unknown collection", `{"collections":["nope"]}`, codes.NotFound, "rampart.collections[0]", "`nope`"},
		{"another tenant's collection", `{"collections":["handbook","secret"]}`, codes.NotFound, "rampart.collections[1]", "`secret`"},
		{"top_k zero", `{"collections":["handbook"],"top_k":0}`, codes.InvalidArgument, "rampart.top_k", "rampart.top_k"},
		{"top_k too big", `{"collections":["handbook"],"top_k":51}`, codes.InvalidArgument, "rampart.top_k", "rampart.top_k"},
		{"bad collection name", `{"collections":["Hand Book"]}`, codes.InvalidArgument, "rampart.collections[0]", "collection name"},
		{"unknown field", `{"collections":["handbook"],"k":3}`, codes.InvalidArgument, "rampart.k", "rampart.k"},
		{"negative min_score", `{"collections":["handbook"],"min_score":-1}`, codes.InvalidArgument, "rampart.min_score", "min_score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
				Body: ragBody("rampart-extractive", `,"rampart":`+tt.ext, "How often do certificates rotate?")})
			code, _, param := errInfo(t, err)
			require.Equal(t, tt.code, code, "%v", err)
			require.Equal(t, tt.param, param)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
	// tenant t2 never reached t1's collection, and t1 never reached t2's
	for _, s := range e.srv.Ingestion.Searches() {
		require.Equal(t, "t1", s.Tenant)
	}
}

func TestRAGIngestionDownAnswersWithAWarning(t *testing.T) {
	e, _ := ragEnv(t)
	e.srv.Ingestion.Stop()
	for _, stream := range []bool{false, true} {
		body := ragBody("echo", `,"rampart":{"collections":["handbook"]}`, "How often do VPN certificates rotate?")
		var raw []byte
		if stream {
			body = ragBody("echo", `,"stream":true,"rampart":{"collections":["handbook"]}`, "How often do VPN certificates rotate?")
			st, err := e.client.StreamChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.StreamChatCompletionRequest{Body: body})
			require.NoError(t, err)
			for {
				msg, err := st.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				raw = msg.GetChunk()
			}
		} else {
			resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: body})
			require.NoError(t, err)
			raw = resp.GetBody()
		}
		var c ragCompletion
		require.NoError(t, json.Unmarshal(raw, &c))
		require.NotNil(t, c.Rampart, "stream=%v", stream)
		require.Contains(t, c.Rampart.Warning, "not grounded in your documents")
		require.Empty(t, c.Rampart.Citations)
	}
}

// TestRAGCarriesIngestionsSearchWarning: when ingestion searched by
// keywords only (the collection's embedding model was down), the grounded
// answer still cites and carries ingestion's warning.
func TestRAGCarriesIngestionsSearchWarning(t *testing.T) {
	e, _ := ragEnv(t)
	const w = "The embedding model `semantic-embed` is unavailable right now; these results come from keyword search only."
	e.srv.Ingestion.SetWarning(w)
	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"rampart":{"collections":["handbook"]}`, "How often do VPN certificates rotate?")})
	require.NoError(t, err)
	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.NotNil(t, c.Rampart)
	require.NotEmpty(t, c.Rampart.Citations)
	require.Equal(t, w, c.Rampart.Warning)
}

// readRAGStream reads a chat stream to its end: the deltas' text, the
// citations of the last chunk that carried any, and whether that chunk was
// the final one.
func readRAGStream(t *testing.T, st grpc.ServerStreamingClient[inferencev1.StreamChatCompletionResponse]) (string, []ragCitation, bool) {
	t.Helper()
	var text string
	var cites []ragCitation
	inFinal := false
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return text, cites, inFinal
		}
		require.NoError(t, err)
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Rampart *struct {
				Citations []ragCitation `json:"citations"`
			} `json:"rampart"`
		}
		require.NoError(t, json.Unmarshal(msg.GetChunk(), &c))
		if len(c.Choices) > 0 {
			text += c.Choices[0].Delta.Content
		}
		inFinal = c.Rampart != nil
		if c.Rampart != nil {
			cites = c.Rampart.Citations
		}
	}
}
