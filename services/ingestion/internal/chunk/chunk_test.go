package chunk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
)

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"hello world", 4},
		{"internationalization", 5},
		{"Hi, you.", 4},
	} {
		require.Equal(t, tc.want, chunk.Tokens(tc.in), tc.in)
	}
}

func TestSplit(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "Sentence number %d talks about topic %d. ", i, i%7)
	}
	text := b.String()
	for _, tc := range []struct {
		name string
		o    chunk.Options
	}{
		{"default", chunk.Options{}},
		{"small", chunk.Options{Tokens: 40, Overlap: 15}},
		{"no overlap", chunk.Options{Tokens: 60, Overlap: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks := chunk.Split(text, tc.o)
			require.Greater(t, len(chunks), 1)
			limit := tc.o.Tokens
			if limit == 0 {
				limit = 300
			}
			for i, c := range chunks {
				require.LessOrEqual(t, chunk.Tokens(c), limit, "chunk %d", i)
				require.True(t, strings.HasSuffix(c, "."), "chunk %d ends at a sentence: %q", i, c)
				require.True(t, strings.HasPrefix(c, "Sentence"), "chunk %d starts at a sentence", i)
			}
			// every sentence is somewhere
			for i := range 200 {
				s := fmt.Sprintf("Sentence number %d talks", i)
				found := false
				for _, c := range chunks {
					if strings.Contains(c, s) {
						found = true
						break
					}
				}
				require.True(t, found, s)
			}
			if tc.o.Overlap > 0 {
				last := chunks[0][strings.LastIndex(strings.TrimSuffix(chunks[0], "."), ".")+2:]
				require.True(t, strings.HasPrefix(chunks[1], last), "overlap: %q then %q", last, chunks[1][:40])
			}
		})
	}
}

func TestSplitEdgeCases(t *testing.T) {
	require.Empty(t, chunk.Split("  \n\n ", chunk.Options{}))
	require.Equal(t, []string{"One line."}, chunk.Split("One line.", chunk.Options{}))
	long := strings.Repeat("word ", 1000)
	parts := chunk.Split(long, chunk.Options{Tokens: 100, Overlap: 10})
	require.Len(t, parts, 10)
	huge := strings.Repeat("x", 5000)
	parts = chunk.Split(huge, chunk.Options{Tokens: 100})
	require.Equal(t, huge, strings.Join(parts, ""))
	for _, p := range parts {
		require.LessOrEqual(t, chunk.Tokens(p), 100)
	}
	require.Equal(t, []string{"# Title", "Para one."}, chunk.Split("# Title\n\nPara one.", chunk.Options{Tokens: 3, Overlap: 0}))
}

func FuzzSplit(f *testing.F) {
	f.Add("Hello there. How are you?\nFine!", 10, 2)
	f.Fuzz(func(t *testing.T, s string, tokens, overlap int) {
		if tokens <= 0 || tokens > 1000 {
			tokens = 50
		}
		for _, c := range chunk.Split(s, chunk.Options{Tokens: tokens, Overlap: overlap}) {
			require.NotEmpty(t, strings.TrimSpace(c))
		}
		// every sentence's span holds it (docs/adr/0085)
		for _, p := range chunk.SplitSections([]chunk.Section{{Text: s}}, chunk.Options{Tokens: tokens, Overlap: overlap}) {
			for _, sp := range p.Spans {
				require.Equal(t, p.Text[sp.At:sp.At+sp.Len], strings.Join(strings.Fields(s[sp.Start:sp.End]), " "))
			}
		}
	})
}

func TestSplitSections(t *testing.T) {
	long := strings.Repeat("Word after word makes a sentence. ", 40)
	secs := []chunk.Section{{Heading: "A > B", Text: "Short one."}, {Heading: "A > C", Text: long}, {Heading: "A > D", Text: "  "}, {Heading: "A > E", Text: "Tail."}}
	got := chunk.SplitSections(secs, chunk.Options{Tokens: 100, Overlap: 10})
	require.Greater(t, len(got), 2)
	require.True(t, strings.HasPrefix(got[0].Text, "Short one. Word after word"), "small sections share a window")
	require.Equal(t, "A > B", got[0].Heading)
	require.Equal(t, []string{"A > B", "A > C"}, got[0].Headings)
	for _, p := range got[1 : len(got)-1] {
		require.Equal(t, "A > C", p.Heading)
	}
	last := got[len(got)-1]
	require.True(t, strings.HasSuffix(last.Text, "Tail."))
	require.Contains(t, last.Headings, "A > E")

	// Without headings, SplitSections is Split.
	plain := chunk.SplitSections([]chunk.Section{{Text: long}}, chunk.Options{Tokens: 100, Overlap: 10})
	want := chunk.Split(long, chunk.Options{Tokens: 100, Overlap: 10})
	require.Len(t, plain, len(want))
	for i := range want {
		require.Equal(t, want[i], plain[i].Text)
		require.Empty(t, plain[i].Headings)
	}
}

// TestSplitSectionsSpans: every sentence of every chunk names the bytes it
// came from in the located text, however its white space was squeezed, cut
// at words or bytes (docs/adr/0085).
func TestSplitSectionsSpans(t *testing.T) {
	located := "Intro  line.\n\nCafé   prices\trise. Second.\n\n" + strings.Repeat("word ", 120) + "\n\n" + strings.Repeat("y", 900) + "\n\nTail."
	var secs []chunk.Section
	at := 0
	for _, part := range strings.Split(located, "\n\n") {
		secs = append(secs, chunk.Section{Text: part, Start: at})
		at += len(part) + 2
	}
	for _, o := range []chunk.Options{{Tokens: 40, Overlap: 10}, {}} {
		for _, p := range chunk.SplitSections(secs, o) {
			require.NotEmpty(t, p.Spans)
			require.Zero(t, p.Spans[0].At)
			var joined []string
			for _, s := range p.Spans {
				sent := p.Text[s.At : s.At+s.Len]
				joined = append(joined, sent)
				require.Equal(t, sent, strings.Join(strings.Fields(located[s.Start:s.End]), " "), "span %+v", s)
				require.Equal(t, located[s.Start:s.End], strings.TrimSpace(located[s.Start:s.End]), "no white space around")
			}
			require.Equal(t, p.Text, strings.Join(joined, " "), "the spans are the chunk's sentences")
		}
	}
}
