package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name      string
		ans       answer
		want      []string
		wantNot   []string
		fallback  string
		wantBlock int
	}{
		{
			name:    "document text cannot ping or link",
			ans:     answer{text: "Quote: <!channel> see <https://evil.example|your bank> & **bold**"},
			want:    []string{"&lt;!channel&gt;", "&lt;https://evil.example|your bank&gt;", "&amp;", "*bold*"},
			wantNot: []string{"<!channel>", "<https://evil"}, fallback: "Quote: &lt;!channel&gt; see &lt;https://evil.example|your bank&gt; &amp; **bold**", wantBlock: 1,
		},
		{
			name: "citations: one line per document, links only for http(s), trailing Sources paragraph dropped",
			ans: answer{text: "Rotate every 45 days [1][2] and see [3].\n\nSources: [1] x; [2] x; [3] y", citations: []citation{
				{Index: 1, DocumentID: "d1", Source: "https://w.example/a|b>c", URL: "https://w.example/a|b>c", Title: "VPN <guide>"},
				{Index: 2, DocumentID: "d1", Source: "https://w.example/a|b>c", URL: "https://w.example/a|b>c", Title: "VPN <guide>"},
				{Index: 3, DocumentID: "d2", Source: "notes/vpn.md", URL: "javascript:alert(1)"},
			}},
			want:    []string{"[1][2] <https://w.example/a%7Cb%3Ec|VPN &lt;guide&gt;>", "[3] notes/vpn.md", "*Sources*"},
			wantNot: []string{"javascript:", "Sources: [1]"}, fallback: "Rotate every 45 days [1][2] and see [3].", wantBlock: 3,
		},
		{
			name: "where the passages are: a PDF's pages, a text file's lines, nothing for passages without a location",
			ans: answer{text: "See [1], [2] and [3].", citations: []citation{
				{Index: 1, DocumentID: "d1", Source: "policy.pdf", Passages: []citedPassage{
					{Location: &location{Page: 5, PageEnd: 6}}, {Location: &location{Page: 3, PageEnd: 3}}, {Location: &location{Page: 6, PageEnd: 6}}}},
				{Index: 2, DocumentID: "d2", Source: "vpn.md", Passages: []citedPassage{{Location: &location{Line: 4, LineEnd: 4}}}},
				{Index: 3, DocumentID: "d3", Source: "old.md", Passages: []citedPassage{{}}},
				{Index: 4, DocumentID: "d4", Source: "one.pdf", Passages: []citedPassage{{Location: &location{Page: 2, PageEnd: 2}}, {Location: &location{Page: 2, PageEnd: 2}}}},
			}},
			want:    []string{"[1] policy.pdf (pp. 3, 5–6)\n", "[2] vpn.md (line 4)\n", "[3] old.md\n", "[4] one.pdf (p. 2)"},
			wantNot: []string{"old.md ("}, fallback: "See [1], [2] and [3].", wantBlock: 3,
		},
		{
			name: "credentials in a source's URL are never shown",
			ans: answer{text: "See [1] and [2].", citations: []citation{
				{Index: 1, DocumentID: "d1", Source: "https://svc:s3cr3t@wiki.example.com/vpn", URL: "https://svc:s3cr3t@wiki.example.com/vpn"},
				{Index: 2, DocumentID: "d2", Source: "https://bot:t0ken@git.example.com/it/onboarding.md", Title: "Onboarding"},
			}},
			want:    []string{"[1] <https://wiki.example.com/vpn|https://wiki.example.com/vpn>", "[2] Onboarding (https://git.example.com/it/onboarding.md)"},
			wantNot: []string{"s3cr3t", "t0ken", "svc:", "bot:"}, fallback: "See [1] and [2].", wantBlock: 3,
		},
		{
			name: "grounding warning shown", ans: answer{text: "Plain answer.", warning: "Document search is unavailable <now>"},
			want: []string{":warning: Document search is unavailable &lt;now&gt;"}, fallback: "Plain answer.", wantBlock: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := render(tt.ans, nil)
			require.Len(t, msgs, 1, "a short answer is one message")
			msg := msgs[0]
			require.Equal(t, tt.fallback, msg.Text)
			require.Len(t, msg.Blocks, tt.wantBlock)
			raw, err := json.Marshal(msg.Blocks)
			require.NoError(t, err)
			var texts []struct {
				Text     struct{ Text string }   `json:"text"`
				Elements []struct{ Text string } `json:"elements"`
			}
			require.NoError(t, json.Unmarshal(raw, &texts))
			all := ""
			for _, b := range texts {
				all += b.Text.Text + "\n"
				for _, e := range b.Elements {
					all += e.Text + "\n"
				}
			}
			for _, w := range tt.want {
				require.Contains(t, all, w)
			}
			for _, w := range tt.wantNot {
				require.NotContains(t, all, w)
			}
		})
	}
}

// TestLongAnswerWithinSlackLimits: an answer longer than Slack takes in
// one message is split into messages that Slack accepts (slackfake.Check:
// section ≤ 3,000, ≤ 50 blocks, ≤ 12,000 of block text, text ≤ 4,000),
// cut at characters (never inside a UTF-8 sequence, an answer without
// spaces included) and escapes, losing nothing but the spaces at cuts,
// with the sources and the warning once, at the end. The old renderer put
// up to 116,000 characters in one message (Slack: msg_blocks_too_long),
// the whole answer in the text field (msg_too_long) and cut at bytes.
func TestLongAnswerWithinSlackLimits(t *testing.T) {
	repeat := func(s string, n int) string { return strings.Repeat(s, n) }
	cites := []citation{{Index: 1, DocumentID: "d1", Source: "https://w.example/vpn", URL: "https://w.example/vpn", Title: "VPN"}}
	tests := []struct {
		name     string
		text     string
		messages int
		cut      bool
	}{
		{"one section's worth", repeat("word ", 500), 1, false},
		{"words", repeat("word ", 6000), 4, false},
		{"no spaces, three-byte characters", repeat("証明書は四十五日ごとに更新されます", 1200), 3, false},
		{"astral characters count twice", repeat("🔐", 5000), 1, false},
		{"escapes grow the text", repeat("a&b<c>d ", 2000), 4, false},
		{"lines", repeat("- step one of the procedure\n", 1200), 4, false},
		{"past what is posted", repeat("word ", 9000), 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := render(answer{text: tt.text, citations: cites, warning: "Document search is unavailable"}, nil)
			require.Equal(t, tt.messages, len(msgs), "messages")
			var body strings.Builder
			for i, m := range msgs {
				raw, err := json.Marshal(m.Blocks)
				require.NoError(t, err)
				require.Empty(t, slackfake.Check(m.Text, string(raw)), "message %d is within Slack's limits", i)
				require.True(t, utf8.ValidString(m.Text), "message %d: text cut inside a character", i)
				var blocks []struct {
					Type string
					Text struct{ Text string }
				}
				require.NoError(t, json.Unmarshal(raw, &blocks))
				for _, b := range blocks {
					require.True(t, utf8.ValidString(b.Text.Text), "message %d: a section cut inside a character", i)
					require.NotContains(t, b.Text.Text, "\uFFFD")
					if b.Type == "section" && !strings.HasPrefix(b.Text.Text, "*Sources*") && !strings.Contains(b.Text.Text, "answer was cut") {
						body.WriteString(b.Text.Text)
					}
				}
				require.Equal(t, i == len(msgs)-1, strings.Contains(string(raw), "*Sources*"), "sources once, in the last message")
				require.Equal(t, i == len(msgs)-1, strings.Contains(string(raw), ":warning:"), "the warning once, in the last message")
			}
			got := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(body.String())
			require.NotContains(t, strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(body.String()), "&", "no escape cut in two")
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if tt.cut {
				require.Contains(t, string(must(json.Marshal(msgs[len(msgs)-1].Blocks))), "answer was cut")
				require.True(t, strings.HasPrefix(squash(tt.text), squash(got)), "the start of the answer")
				require.Greater(t, len(got), maxAnswerText-maxSectionText)
			} else {
				want, got := squash(tt.text), squash(got)
				i := 0
				for i < min(len(want), len(got)) && want[i] == got[i] {
					i++
				}
				require.True(t, want == got, "nothing lost: %d and %d bytes, first difference at %d: %q", len(want), len(got), i, got[max(i-20, 0):min(i+20, len(got))])
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text string
		want command
		ok   bool
	}{
		{"", command{}, false},
		{"help", command{}, false},
		{"ask  how do I reset?", command{kind: cmdAsk, arg: "how do I reset?"}, true},
		{"ask", command{}, false},
		{"what is the VPN policy", command{kind: cmdAsk, arg: "what is the VPN policy"}, true},
		{"kb use handbook, faq --workspace", command{kind: cmdKB, sub: "use", arg: "handbook,faq", workspace: true}, true},
		{"KB show", command{kind: cmdKB, sub: "show"}, true},
		{"kb clear --workspace", command{kind: cmdKB, sub: "clear", workspace: true}, true},
		{"kb use", command{}, false},
		{"kb drop", command{}, false},
		{"kb show extra", command{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, ok := parseCommand(tt.text)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
