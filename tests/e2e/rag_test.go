package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// The official OpenAI Node SDK version the assistant test drives (the
// newest 6.x: 7.x needs Node 22, CI and the dev machine have Node 20).
const openaiNodeVersion = "6.49.0"

// nodeSDK runs scripts with node in a directory holding the official
// Node SDK (openai@openaiNodeVersion).
type nodeSDK struct{ node, dir string }

// nodeWithOpenAI npm-installs the Node SDK into a new directory. node and
// npm are required (CI installs them).
func nodeWithOpenAI(t *testing.T) nodeSDK {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is needed for the OpenAI SDK test (CI installs it)")
	npm, err := exec.LookPath("npm")
	require.NoError(t, err, "npm is needed for the OpenAI SDK test")
	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent", "openai@"+openaiNodeVersion)
	install.Dir = dir
	out, err := install.CombinedOutput()
	require.NoError(t, err, string(out))
	return nodeSDK{node: node, dir: dir}
}

// run runs script (CommonJS) with env beside a clean environment and
// returns what it printed; a failure shows its stderr.
func (n nodeSDK) run(t *testing.T, script string, env ...string) []byte {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(n.dir, "sdk.js"), []byte(script), 0o600))
	cmd := exec.Command(n.node, "sdk.js")
	cmd.Dir = n.dir
	cmd.Env = append(devenv.Clean(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	return stdout
}

const ragDoc = "# VPN\n\nVPN certificates rotate every 45 days. The VPN gateway is vpn.example.com and needs the Rampart client.\n\n" +
	"# Laptops\n\nLaptops are replaced every three years. Lost laptops are reported to the service desk at once."

type ragCitation struct {
	Index      int    `json:"index"`
	DocumentID string `json:"document_id"`
	Source     string `json:"source"`
	Title      string `json:"title"`
	URL        string `json:"url"`
	ChunkID    string `json:"chunk_id"`
	Quote      string `json:"quote"`
	Passages   []struct {
		ChunkID  string       `json:"chunk_id"`
		Quote    string       `json:"quote"`
		Score    float64      `json:"score"`
		Location *ragLocation `json:"location"`
	} `json:"passages"`
}

// ragLocation is a cited passage's place in its document (ADR 0085).
type ragLocation struct {
	Start   int `json:"start"`
	End     int `json:"end"`
	Line    int `json:"line"`
	LineEnd int `json:"line_end"`
	Page    int `json:"page"`
	PageEnd int `json:"page_end"`
}

// requireQuotesLocated checks every cited passage's location against the
// uploaded files (docs maps a document id to its content): the quote is
// found at its character offsets (white space squeezed, as quotes are; a
// quote cut short with "…" starts there), on its lines, in a text file
// without pages.
func requireQuotesLocated(t *testing.T, docs map[string]string, cites []ragCitation) {
	t.Helper()
	for _, c := range cites {
		doc, ok := docs[c.DocumentID]
		require.True(t, ok, "citation of an unknown document: %+v", c)
		runes := []rune(doc)
		for _, p := range c.Passages {
			l := p.Location
			require.NotNil(t, l, "a freshly ingested passage is located: %+v", p)
			require.True(t, 0 <= l.Start && l.Start < l.End && l.End <= len(runes), "%+v in %d characters", *l, len(runes))
			at := strings.Join(strings.Fields(string(runes[l.Start:l.End])), " ")
			quote := strings.TrimSuffix(p.Quote, "…")
			if quote == p.Quote {
				require.Equal(t, quote, at, "the quote is at %+v", *l)
			} else {
				require.True(t, strings.HasPrefix(at, quote), "the quote %q starts at %+v: %q", quote, *l, at)
			}
			require.Equal(t, 1+strings.Count(string(runes[:l.Start]), "\n"), l.Line, "line of %q", quote)
			require.Equal(t, l.Line+strings.Count(strings.TrimRight(string(runes[l.Start:l.End]), "\n"), "\n"), l.LineEnd)
			require.Zero(t, l.Page, "a text file has no pages")
		}
	}
}

// markers are the answer's "[n]" citation markers, in order.
var markers = regexp.MustCompile(`\[(\d+)\]`)

// requireCitationsMatchText checks a grounded answer's citations against
// its text (ADR 0079): one citation per document, numbered 1..n in order,
// every marker in the text naming one and every one named, the answer's
// own Sources line listing each document once under its number.
func requireCitationsMatchText(t *testing.T, text string, cites []ragCitation) {
	t.Helper()
	require.NotEmpty(t, cites, text)
	docs := map[string]bool{}
	var sources []string
	for i, c := range cites {
		require.Equal(t, i+1, c.Index, "citations are numbered in order: %+v", cites)
		require.False(t, docs[c.DocumentID], "document %s cited twice: %+v", c.DocumentID, cites)
		docs[c.DocumentID] = true
		require.NotEmpty(t, c.Passages, "a citation lists its passages")
		require.Equal(t, c.Quote, c.Passages[0].Quote, "quote is the first passage's")
		require.Equal(t, c.ChunkID, c.Passages[0].ChunkID, "chunk_id is the first passage's")
		for _, p := range c.Passages {
			require.True(t, strings.HasPrefix(p.ChunkID, c.DocumentID+":"), "passage %s of document %s", p.ChunkID, c.DocumentID)
		}
		sources = append(sources, fmt.Sprintf("[%d] %s", c.Index, c.Source))
	}
	named := map[int]bool{}
	for _, m := range markers.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		require.True(t, n >= 1 && n <= len(cites), "marker [%d] names no citation: %s", n, text)
		named[n] = true
	}
	require.Len(t, named, len(cites), "every citation is named in the text: %s", text)
	require.Contains(t, text, "Sources: "+strings.Join(sources, "; "), "each document listed once")
}

type ragAnswer struct {
	Model   string `json:"model"`
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

// ingestAndWait uploads content into collection and waits for its job.
func ingestAndWait(t *testing.T, s *stack, key, collection, source, content string) string {
	t.Helper()
	var ing struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/"+collection+"/documents", key,
		map[string]any{"content": []byte(content), "source": source, "content_type": "text/markdown"}, &ing))
	var job struct {
		Job ingestJob `json:"job"`
	}
	for range 400 { // poll the durable job until it ends (bounded)
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID, key, nil, &job))
		if job.Job.State == "JOB_STATE_SUCCEEDED" || job.Job.State == "JOB_STATE_FAILED" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	require.Equal(t, "JOB_STATE_SUCCEEDED", job.Job.State)
	return ing.Document.ID
}

// streamChat posts a streaming chat and returns the concatenated content
// and the final chunk's rampart object.
func streamChat(t *testing.T, s *stack, key string, body map[string]any) (string, json.RawMessage) {
	t.Helper()
	body["stream"] = true
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.baseURL+"/v1/chat/completions", bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/event-stream")
	var text strings.Builder
	var final json.RawMessage
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		payload, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if payload == "[DONE]" {
			done = true
			break
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Rampart json.RawMessage `json:"rampart"`
		}
		require.NoError(t, json.Unmarshal([]byte(payload), &c), payload)
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
			if c.Choices[0].FinishReason != nil {
				final = c.Rampart
			}
		}
	}
	require.NoError(t, sc.Err())
	require.True(t, done, "the stream ends with [DONE]")
	return text.String(), final
}

// TestRAGChatThroughEdge: a document ingested through the edge grounds
// chat answers — JSON and streamed — that quote it and cite its source;
// follow-ups use the conversation; nothing relevant → the answer says so;
// another tenant's collection is never searched (404); top_k is checked.
func TestRAGChatThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "e2e-rag"}, nil))
	docID := ingestAndWait(t, s, admin, "e2e-rag", "vpn.md", ragDoc)

	// A key with chat:write and ingest:read (like the Slack adapter's) may
	// name collections; a chat:write-only key reaches documents only through
	// an assistant (TestRAGAssistantWithOpenAINodeSDK).
	var chatOnly, noSearch createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "rag-reader", "scopes": []string{"chat:write", "ingest:read"}}, &chatOnly))
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "rag-chat-only", "scopes": []string{"chat:write"}}, &noSearch))

	ask := func(q ...string) map[string]any {
		msgs := make([]map[string]string, len(q))
		for i, m := range q {
			role := "user"
			if i%2 == 1 {
				role = "assistant"
			}
			msgs[i] = map[string]string{"role": role, "content": m}
		}
		return map[string]any{"model": "rampart-extractive", "messages": msgs, "rampart": map[string]any{"collections": []string{"e2e-rag"}, "top_k": 4}}
	}

	t.Run("naming collections needs ingest:read", func(t *testing.T) {
		var e struct {
			Error struct {
				Code  string `json:"code"`
				Param string `json:"param"`
			} `json:"error"`
		}
		code, body := rawDo(t, http.MethodPost, s.baseURL+"/v1/chat/completions", noSearch.APIKey, ask("How often do VPN certificates rotate?"))
		require.Equal(t, http.StatusForbidden, code, string(body))
		require.NoError(t, json.Unmarshal(body, &e), string(body))
		require.Equal(t, "rampart.collections", e.Error.Param)
		require.Equal(t, "insufficient_scope", e.Error.Code)
		require.NotContains(t, string(body), "45 days", "a refused key sees no snippet")
	})

	t.Run("json", func(t *testing.T) {
		var a ragAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", chatOnly.APIKey, ask("How often do VPN certificates rotate?"), &a))
		// (ingestion's chunks run a heading into the next sentence: the
		// quote may start with the heading's text)
		require.Contains(t, a.Choices[0].Message.Content, `VPN certificates rotate every 45 days." [1]`)
		require.NotContains(t, a.Choices[0].Message.Content, "gateway")
		require.Contains(t, a.Choices[0].Message.Content, "[1] vpn.md")
		require.NotContains(t, a.Choices[0].Message.Content, "message")
		require.NotNil(t, a.Rampart)
		c := a.Rampart.Citations[0]
		require.Equal(t, 1, c.Index)
		require.Equal(t, docID, c.DocumentID)
		require.Equal(t, "vpn.md", c.Source)
		require.Equal(t, "VPN", c.Title, "the document's first top-level heading")
		require.Empty(t, c.URL, "an uploaded document has no URL")
		require.True(t, strings.HasPrefix(c.ChunkID, docID+":"), c.ChunkID)
		require.Contains(t, c.Quote, "VPN certificates rotate every 45 days.")
		requireQuotesLocated(t, map[string]string{docID: ragDoc}, a.Rampart.Citations)
		require.Equal(t, 3, c.Passages[0].Location.Line, "the sentence's line in vpn.md")
	})

	t.Run("stream", func(t *testing.T) {
		text, final := streamChat(t, s, admin, ask("How often do VPN certificates rotate?"))
		require.Contains(t, text, "VPN certificates rotate every 45 days.")
		var ext struct {
			Citations []ragCitation `json:"citations"`
		}
		require.NoError(t, json.Unmarshal(final, &ext), string(final))
		require.Equal(t, "vpn.md", ext.Citations[0].Source)
		require.Equal(t, docID, ext.Citations[0].DocumentID)
		requireQuotesLocated(t, map[string]string{docID: ragDoc}, ext.Citations)
	})

	t.Run("one citation per document, numbered as the answer", func(t *testing.T) {
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "e2e-rag-cite"}, nil))
		const vpnText = "Café notice.\r\n\r\nVPN certificates rotate   every 45 days. The client renews VPN certificates automatically.\r\n\r\nPrinters are on floor two."
		const keysText = "API keys rotate every 90 days."
		vpn := ingestAndWait(t, s, admin, "e2e-rag-cite", "vpn.txt", vpnText)
		keys := ingestAndWait(t, s, admin, "e2e-rag-cite", "keys.txt", keysText)
		body := map[string]any{"model": "rampart-extractive", "rampart": map[string]any{"collections": []string{"e2e-rag-cite"}, "top_k": 4},
			"messages": []map[string]string{{"role": "user", "content": "How often do VPN certificates and API keys rotate?"}}}
		var a ragAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", chatOnly.APIKey, body, &a))
		text := a.Choices[0].Message.Content
		require.NotNil(t, a.Rampart, text)
		requireCitationsMatchText(t, text, a.Rampart.Citations)
		// Grounded: the passage cited for each document holds the fact.
		byDoc := map[string]ragCitation{}
		for _, c := range a.Rampart.Citations {
			byDoc[c.DocumentID] = c
		}
		require.Len(t, byDoc, 2, "%+v", a.Rampart.Citations)
		require.Len(t, byDoc[vpn].Passages, 2, "two sentences of vpn.txt, one citation: %+v", byDoc[vpn])
		require.Contains(t, byDoc[vpn].Passages[0].Quote+byDoc[vpn].Passages[1].Quote, "45 days")
		require.Contains(t, byDoc[keys].Quote, "90 days")
		require.Equal(t, 1, strings.Count(text, "vpn.txt"), text)
		// Each quoted sentence is at its own offsets in the file (CRLF line
		// ends and "é" counted as the file has them, "   " squeezed).
		requireQuotesLocated(t, map[string]string{vpn: vpnText, keys: keysText}, a.Rampart.Citations)
		require.Equal(t, 3, byDoc[vpn].Passages[0].Location.Line)

		// The stream says the same: same text, same citations.
		streamed, final := streamChat(t, s, chatOnly.APIKey, body)
		var ext struct {
			Citations []ragCitation `json:"citations"`
		}
		require.NoError(t, json.Unmarshal(final, &ext), string(final))
		require.Equal(t, text, streamed)
		require.Equal(t, a.Rampart.Citations, ext.Citations)
	})

	t.Run("follow-up", func(t *testing.T) {
		var a ragAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", admin,
			ask("I have a question about laptops.", "Sure, what is it?", "How often are they replaced?"), &a))
		require.Contains(t, a.Choices[0].Message.Content, "Laptops are replaced every three years.")
	})

	t.Run("no answer", func(t *testing.T) {
		var a ragAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", admin, ask("What is the parental leave policy?"), &a))
		require.Contains(t, a.Choices[0].Message.Content, "do not contain an answer")
		require.NotContains(t, a.Choices[0].Message.Content, "45 days")
		require.Nil(t, a.Rampart)
	})

	t.Run("bad input", func(t *testing.T) {
		body := ask("How often do VPN certificates rotate?")
		body["rampart"] = map[string]any{"collections": []string{"e2e-rag"}, "top_k": 500}
		code, out := rawDo(t, http.MethodPost, s.baseURL+"/v1/chat/completions", admin, body)
		require.Equal(t, http.StatusBadRequest, code, string(out))
		require.Contains(t, string(out), `"param":"rampart.top_k"`)

		body["rampart"] = map[string]any{"collections": []string{"no-such-collection"}}
		code, out = rawDo(t, http.MethodPost, s.baseURL+"/v1/chat/completions", admin, body)
		require.Equal(t, http.StatusNotFound, code, string(out))
		require.Contains(t, string(out), "no-such-collection")
	})

	t.Run("another tenant's collection", func(t *testing.T) {
		var tb struct {
			OwnerAPIKey string `json:"owner_api_key"`
		}
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
			map[string]any{"name": "tenant-rag", "owner_subject": "owner@rag.example"}, &tb))
		code, out := rawDo(t, http.MethodPost, s.baseURL+"/v1/chat/completions", tb.OwnerAPIKey, ask("How often do VPN certificates rotate?"))
		require.Equal(t, http.StatusNotFound, code, string(out))
		require.Contains(t, string(out), "e2e-rag")
		require.NotContains(t, string(out), "45 days")

		// The same collection name in the other tenant is its own: the
		// tenant comes from the key, so its answer cites only its document.
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", tb.OwnerAPIKey, map[string]any{"name": "e2e-rag"}, nil))
		other := ingestAndWait(t, s, tb.OwnerAPIKey, "e2e-rag", "other-vpn.md", "VPN certificates rotate every 30 days.")
		var a ragAnswer
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", tb.OwnerAPIKey, ask("How often do VPN certificates rotate?"), &a))
		require.Contains(t, a.Choices[0].Message.Content, "30 days")
		require.NotContains(t, a.Choices[0].Message.Content, "45 days")
		require.NotNil(t, a.Rampart)
		for _, c := range a.Rampart.Citations {
			require.Equal(t, other, c.DocumentID, "only the caller tenant's document is cited")
			require.NotEqual(t, docID, c.DocumentID)
			require.NotContains(t, c.Quote, "45 days")
		}
	})
}

// TestRAGAssistantWithOpenAINodeSDK: an admin defines an assistant; the
// official OpenAI Node SDK, unchanged, lists it and gets grounded answers
// (JSON and streamed) by choosing it as the model; another tenant neither
// sees nor uses it.
func TestRAGAssistantWithOpenAINodeSDK(t *testing.T) {
	sdk := nodeWithOpenAI(t)
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": "e2e-kb"}, nil))
	docID := ingestAndWait(t, s, admin, "e2e-kb", "vpn.md", ragDoc)
	code, out := rawDo(t, http.MethodPost, s.baseURL+"/v1/rampart/assistants", admin, map[string]any{
		"name": "kb-e2e", "model": "rampart-extractive", "collections": []string{"e2e-kb"},
		"system_prompt": "You answer IT questions.", "top_k": 4, "description": "e2e"})
	require.Equal(t, http.StatusOK, code, string(out))

	// A key without the admin scope cannot manage assistants.
	var chatOnly createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "rag-sdk", "scopes": []string{"chat:write"}}, &chatOnly))
	code, _ = rawDo(t, http.MethodPost, s.baseURL+"/v1/rampart/assistants", chatOnly.APIKey, map[string]any{"name": "x", "model": "echo"})
	require.Equal(t, http.StatusForbidden, code)

	script := `
const { OpenAI } = require("openai");
(async () => {
  const client = new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.KEY, maxRetries: 0 });
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  const q = [{ role: "user", content: "How often do VPN certificates rotate?" }];
  const r = await client.chat.completions.create({ model: "kb-e2e", messages: q });
  // a location's offsets are characters (code points) of the file
  const at = r.rampart.citations[0].passages[0].location;
  const located = [...process.env.DOC].slice(at.start, at.end).join("");
  let text = "", final = null;
  const stream = await client.chat.completions.create({ model: "kb-e2e", messages: q, stream: true });
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content || "";
    if (chunk.choices[0]?.finish_reason) final = chunk.rampart || null;
  }
  let other = null;
  try {
    await new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.OTHER_KEY, maxRetries: 0 })
      .chat.completions.create({ model: "kb-e2e", messages: q });
  } catch (e) { other = e.status; }
  const otherModels = [];
  for await (const m of new OpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.OTHER_KEY }).models.list()) otherModels.push(m.id);
  console.log(JSON.stringify({ models, json: r, text, final, other, otherModels, located }));
})().catch((e) => { console.error(e); process.exit(1); });
`
	var tb struct {
		OwnerAPIKey string `json:"owner_api_key"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants", admin,
		map[string]any{"name": "tenant-sdk", "owner_subject": "owner@sdk.example"}, &tb))
	stdout := sdk.run(t, script, "BASE_URL="+s.baseURL, "KEY="+chatOnly.APIKey, "OTHER_KEY="+tb.OwnerAPIKey, "DOC="+ragDoc)
	var res struct {
		Models      []string        `json:"models"`
		JSON        ragAnswer       `json:"json"`
		Text        string          `json:"text"`
		Final       json.RawMessage `json:"final"`
		Other       int             `json:"other"`
		OtherModels []string        `json:"otherModels"`
		Located     string          `json:"located"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res), string(stdout))
	require.Contains(t, res.Models, "kb-e2e")
	require.Equal(t, "kb-e2e", res.JSON.Model)
	require.Contains(t, res.JSON.Choices[0].Message.Content, "VPN certificates rotate every 45 days.")
	require.NotContains(t, res.JSON.Choices[0].Message.Content, "IT questions", "the system prompt is not quoted")
	require.Equal(t, "vpn.md", res.JSON.Rampart.Citations[0].Source)
	require.Contains(t, res.Text, "VPN certificates rotate every 45 days.")
	require.Contains(t, string(res.Final), `"source":"vpn.md"`)
	// The SDK's client finds the quote at the location's offsets, and so
	// does the stream's final chunk (ADR 0085).
	require.Equal(t, res.JSON.Rampart.Citations[0].Passages[0].Quote, strings.Join(strings.Fields(res.Located), " "))
	requireQuotesLocated(t, map[string]string{docID: ragDoc}, res.JSON.Rampart.Citations)
	var final struct {
		Citations []ragCitation `json:"citations"`
	}
	require.NoError(t, json.Unmarshal(res.Final, &final), string(res.Final))
	requireQuotesLocated(t, map[string]string{docID: ragDoc}, final.Citations)
	require.Equal(t, http.StatusNotFound, res.Other, "another tenant cannot use the assistant")
	require.NotContains(t, res.OtherModels, "kb-e2e", "nor see it")
	require.Contains(t, res.OtherModels, "rampart-extractive")

	// Deleted: gone from /v1/models.
	code, _ = rawDo(t, http.MethodDelete, s.baseURL+"/v1/rampart/assistants/kb-e2e", admin, nil)
	require.Equal(t, http.StatusOK, code)
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/models", admin, nil, &models))
	for _, m := range models.Data {
		require.NotEqual(t, "kb-e2e", m.ID)
	}
}

// TestRAGCLI drives the CLI verbs against the real stack: collection,
// doc add (a file and stdin, --wait), search, chat with a collection and
// with an assistant (streamed), assistant create/list/delete.
func TestRAGCLI(t *testing.T) {
	s := startStack(t)
	rampart := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "rampart"), args...)
		cmd.Env = append(devenv.Clean(), "RAMPART_URL="+s.baseURL, "RAMPART_ADMIN_KEY="+s.env["RAMPART_ADMIN_KEY"])
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "rampart %v:\n%s", args, out)
		return string(out)
	}
	rampart("", "collection", "create", "e2e-cli", "--description", "cli")
	require.Contains(t, rampart("", "collection", "list"), `"e2e-cli"`)
	file := filepath.Join(t.TempDir(), "vpn.md")
	require.NoError(t, os.WriteFile(file, []byte(ragDoc), 0o600))
	out := rampart("Printers are on the third floor. Toner is in the supply room.", "doc", "add", "-c", "e2e-cli", "--wait", file, "-")
	require.Contains(t, out, "vpn.md [####################]")
	require.Contains(t, out, "upload [####################]", "stdin is labelled as its citations show it")
	require.Contains(t, out, "succeeded")

	require.Contains(t, rampart("", "search", "-c", "e2e-cli", "where", "is", "the", "toner"), "[1] upload", "stdin is an unnamed upload (it never replaces another document)")

	out = rampart("", "chat", "-c", "e2e-cli", "How often do VPN certificates rotate?")
	require.Contains(t, out, "VPN certificates rotate every 45 days.")
	require.Contains(t, out, "Sources:\n  [1] VPN — vpn.md")
	require.Equal(t, 1, strings.Count(out, "Sources:"), "the answer's own Sources line is not shown beside the list:\n%s", out)
	require.Contains(t, out, "  [1] VPN — vpn.md\n      line 3: \"VPN certificates rotate every 45 days.\"\n", "each cited passage: where it is and its quote")

	// A collection the tenant does not have is refused at create, naming
	// the field (inference asks ingestion over mTLS); so is a value of the
	// wrong JSON type (the edge's gateway decoder).
	// Both name the field relative to the body the client sent (the
	// assistant), not to the gRPC request (assistant.collections[1]).
	admin := s.env["RAMPART_ADMIN_KEY"]
	for _, tc := range []struct {
		body        map[string]any
		param, text string
	}{
		{map[string]any{"name": "kb-typo", "model": "rampart-extractive", "collections": []string{"e2e-cli", "e2e-clj"}},
			"collections[1]", `collections[1]: collection "e2e-clj" not found`},
		{map[string]any{"name": "kb-typo", "model": "rampart-extractive", "top_k": "four"}, "top_k", "top_k: must be a 32-bit integer"},
	} {
		code, body := rawDo(t, http.MethodPost, s.baseURL+"/v1/rampart/assistants", admin, tc.body)
		require.Equal(t, http.StatusBadRequest, code, string(body))
		var e struct {
			Error struct {
				Code, Message string
				Param         *string
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(body, &e))
		require.Equal(t, "invalid_argument", e.Error.Code)
		require.NotNil(t, e.Error.Param, string(body))
		require.Equal(t, tc.param, *e.Error.Param)
		require.Contains(t, e.Error.Message, tc.text)
	}
	require.NotContains(t, rampart("", "assistant", "list"), "kb-typo")

	rampart("", "assistant", "create", "kb-cli", "-c", "e2e-cli", "--system-prompt", "You answer office questions.")
	require.Contains(t, rampart("", "assistant", "list"), `"kb-cli"`)
	// interactive: questions from stdin, the conversation kept
	out = rampart("Where are the printers?\nAnd the toner?\n", "chat", "--assistant", "kb-cli")
	require.Contains(t, out, "Printers are on the third floor.")
	require.Contains(t, out, "Toner is in the supply room.")
	require.Contains(t, out, "[1] upload")
	require.Equal(t, 2, strings.Count(out, "Sources:"), "one list per answer:\n%s", out)
	rampart("", "assistant", "delete", "kb-cli")
	require.NotContains(t, rampart("", "assistant", "list"), "kb-cli")
	rampart("", "collection", "delete", "e2e-cli")
}

// BenchmarkRAGChatThroughStack: retrieval's added latency through the real
// stack (edge → inference → ingestion's hybrid search over sealed chunks),
// rampart-extractive with rampart.collections vs the same chat without,
// sequential. Run: cd tests/e2e && go test -run '^$' -bench RAGChatThroughStack -benchtime 500x .
func BenchmarkRAGChatThroughStack(b *testing.B) {
	s, err := func() (s *stack, err error) {
		stackOnce.Do(func() { shared, stackErr = launch() })
		return shared, stackErr
	}()
	if err != nil {
		b.Fatal(err)
	}
	admin := s.env["RAMPART_ADMIN_KEY"]
	post := func(path string, body any) []byte {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.baseURL+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		return out
	}
	benchSetup.Do(func() { ingestBenchDocs(b, s, post) })
	msgs := []map[string]string{{"role": "user", "content": "How often do VPN certificates rotate?"}}
	plain := map[string]any{"model": "rampart-extractive", "messages": msgs}
	rag := map[string]any{"model": "rampart-extractive", "messages": msgs, "rampart": map[string]any{"collections": []string{"bench-rag"}, "top_k": 8}}
	n := max(b.N, 100)
	run := func(body any) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			post("/v1/chat/completions", body)
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	run(rag)
	b.ResetTimer()
	p50, p99 := latency.Report(b, "plain-", run(plain))
	r50, r99 := latency.Report(b, "rag-", run(rag))
	b.StopTimer()
	b.ReportMetric(latency.Micros(r50-p50), "added-p50-µs")
	b.ReportMetric(latency.Micros(r99-p99), "added-p99-µs")
	b.ReportMetric(0, "ns/op")
}

// benchSetup ingests the benchmark's documents once per process (the
// testing package calls a benchmark more than once).
var benchSetup sync.Once

func ingestBenchDocs(b *testing.B, s *stack, post func(string, any) []byte) {
	admin := s.env["RAMPART_ADMIN_KEY"]
	post("/v1/collections", map[string]any{"name": "bench-rag"})
	var jobs []string
	for i := range 50 {
		var ing struct {
			Job ingestJob `json:"job"`
		}
		doc := fmt.Sprintf("# Site %d\n\n%s VPN certificates of site %d rotate every 45 days.", i, strings.Repeat("Routine maintenance of the office network is logged weekly. ", 12), i)
		_ = json.Unmarshal(post("/v1/collections/bench-rag/documents", map[string]any{"content": []byte(doc), "source": fmt.Sprintf("site-%d.md", i), "content_type": "text/markdown"}), &ing)
		jobs = append(jobs, ing.Job.ID)
	}
	for _, id := range jobs {
		for range 400 {
			req, _ := http.NewRequest(http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+admin)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var j struct {
				Job ingestJob `json:"job"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&j)
			resp.Body.Close()
			if j.Job.State == "JOB_STATE_SUCCEEDED" {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
}
