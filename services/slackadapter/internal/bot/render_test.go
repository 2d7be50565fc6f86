package bot

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
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
			name: "grounding warning shown", ans: answer{text: "Plain answer.", warning: "Document search is unavailable <now>"},
			want: []string{":warning: Document search is unavailable &lt;now&gt;"}, fallback: "Plain answer.", wantBlock: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := render(tt.ans, nil)
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

func TestLongAnswerSplitsIntoSections(t *testing.T) {
	long := ""
	for len(long) < 7000 {
		long += "word "
	}
	msg := render(answer{text: long}, nil)
	require.Len(t, msg.Blocks, 3)
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
