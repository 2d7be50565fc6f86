package chunk_test

import (
	"fmt"
	"slices"
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
	require.Equal(t, "Short one.", got[0].Text, "a short first section is a chunk of its own: the next is not its subsection")
	require.Equal(t, "A > B", got[0].Heading)
	require.Equal(t, []string{"A > B"}, got[0].Headings)
	for _, p := range got[1 : len(got)-1] {
		require.Equal(t, "A > C", p.Heading)
	}
	last := got[len(got)-1]
	require.True(t, strings.HasSuffix(last.Text, "Tail."), "a short section joins the chunk before it")
	require.Equal(t, []string{"A > C", "A > E"}, last.Headings)

	// Flat: the sections' sentences in one run of windows (before ADR 0119).
	flat := chunk.SplitSections(secs, chunk.Options{Tokens: 100, Overlap: 10, Flat: true})
	require.True(t, strings.HasPrefix(flat[0].Text, "Short one. Word after word"), "flat: small sections share a window")
	require.Equal(t, []string{"A > B", "A > C"}, flat[0].Headings)

	// Without headings, SplitSections is Split.
	plain := chunk.SplitSections([]chunk.Section{{Text: long}}, chunk.Options{Tokens: 100, Overlap: 10})
	want := chunk.Split(long, chunk.Options{Tokens: 100, Overlap: 10})
	require.Len(t, plain, len(want))
	for i := range want {
		require.Equal(t, want[i], plain[i].Text)
		require.Empty(t, plain[i].Headings)
	}
}

// TestSplitSectionsGroups: which sections share a chunk (ADR 0119).
func TestSplitSectionsGroups(t *testing.T) {
	body := func(n int) string { return strings.Repeat("Some words here. ", n) } // 4 tokens a sentence
	o := chunk.Options{Tokens: 100, Overlap: 10, MinTokens: 30}
	texts := func(ps []chunk.Piece) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strings.Join(p.Headings, " + "))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		secs []chunk.Section
		want []string
	}{
		{"long sections alone", []chunk.Section{{Heading: "A", Text: body(10)}, {Heading: "B", Text: body(10)}}, []string{"A", "B"}},
		{"a short introduction joins its subsection", []chunk.Section{{Heading: "A", Text: body(10)}, {Heading: "B", Text: body(2)}, {Heading: "B > C", Text: body(10)}}, []string{"A", "B + B > C"}},
		{"a short sibling joins the chunk before", []chunk.Section{{Heading: "A", Text: body(10)}, {Heading: "B", Text: body(2)}, {Heading: "C", Text: body(10)}}, []string{"A + B", "C"}},
		{"short sections share a chunk", []chunk.Section{{Heading: "A", Text: body(2)}, {Heading: "B", Text: body(2)}, {Heading: "C", Text: body(2)}}, []string{"A + B + C"}},
		{"text before the first heading introduces it", []chunk.Section{{Text: body(2)}, {Heading: "A", Text: body(10)}, {Heading: "B", Text: body(10)}}, []string{"A", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, texts(chunk.SplitSections(tc.secs, o)))
		})
	}
}

// TestSplitSectionsEditIsLocal: inserting a section, or a paragraph into
// one, changes only that section's chunks; the flat windows of before ADR
// 0119 moved every chunk after the edit.
func TestSplitSectionsEditIsLocal(t *testing.T) {
	var secs []chunk.Section
	for s := range 12 {
		var b strings.Builder
		for p := range 2 + s%4 {
			for i := range 3 + (s+p)%5 {
				fmt.Fprintf(&b, "Section %d paragraph %d sentence %d says something.\n", s, p, i)
			}
			b.WriteString("\n")
		}
		secs = append(secs, chunk.Section{Heading: fmt.Sprint("Doc > Part ", s), Text: b.String()})
	}
	inserted := chunk.Section{Heading: "Doc > New part", Text: strings.Repeat("An inserted sentence about key rotation.\n", 9)}
	edited := slices.Insert(slices.Clone(secs), 5, inserted)
	grown := slices.Clone(secs)
	grown[7].Text = strings.Replace(grown[7].Text, "\n\n", "\n\nA new paragraph of its own. With two sentences.\n\n", 1)
	o := chunk.Options{Tokens: 80, Overlap: 15}
	of := func(secs []chunk.Section, o chunk.Options, skip string) map[string]bool {
		out := map[string]bool{}
		for _, p := range chunk.SplitSections(secs, o) {
			if p.Heading != skip {
				out[p.Text] = true
			}
		}
		return out
	}
	before := of(secs, o, "")
	require.Greater(t, len(before), len(secs), "some sections are windowed")
	require.Equal(t, before, of(edited, o, inserted.Heading), "a new section: every other chunk as it was")
	changed := 0
	for txt := range of(grown, o, "") {
		if !before[txt] {
			changed++
			require.Contains(t, txt, "Section 7 ", "only section 7's chunks change: %q", txt)
		}
	}
	require.Positive(t, changed)
	o.Flat = true
	flatBefore, flatAfter := of(secs, o, ""), of(edited, o, inserted.Heading)
	moved := 0
	for txt := range flatBefore {
		if !flatAfter[txt] {
			moved++
		}
	}
	require.Greater(t, moved, len(flatBefore)/3, "flat windows: the chunks after the edit move")
}

// TestSplitParagraphs: a window ends at a paragraph when one leaves it at
// least half full, with no overlap, and a fenced code block with blank
// lines in it is one paragraph.
func TestSplitParagraphs(t *testing.T) {
	para := func(tag string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%s sentence %d is here.\n", tag, i)
		}
		return b.String()
	}
	text := para("Alpha", 6) + "\n" + para("Beta", 6) + "\n" + para("Gamma", 6)
	got := chunk.Split(text, chunk.Options{Tokens: 100, Overlap: 12}) // 8 tokens a sentence
	require.Len(t, got, 2)
	require.True(t, strings.HasPrefix(got[1], "Gamma sentence 0"), "no overlap at a paragraph: %q", got[1])
	require.Contains(t, got[0], "Beta sentence 5 is here.")

	// a paragraph longer than a window is cut at sentences, with overlap
	got = chunk.Split(para("Long", 30), chunk.Options{Tokens: 60, Overlap: 12})
	require.Greater(t, len(got), 2)
	lastOfFirst := got[0][strings.LastIndex(got[0], "Long sentence"):]
	require.True(t, strings.HasPrefix(got[1], lastOfFirst), "overlap inside a paragraph: %q then %q", lastOfFirst, got[1][:30])

	// list items are paragraphs
	list := "Intro line one.\n- " + strings.TrimSuffix(para("Item one", 5), "\n") + "\n- " + para("Item two", 5)
	got = chunk.Split(list, chunk.Options{Tokens: 50, Overlap: 10})
	require.True(t, strings.HasPrefix(got[len(got)-1], "- Item two sentence 0"), "%q", got)

	code := "Run this:\n\n```sh\n" + para("echo", 3) + "\n" + para("echo more", 3) + "```\n\nAfter the code.\n"
	got = chunk.Split(strings.Repeat(para("Lead", 8)+"\n", 1)+code, chunk.Options{Tokens: 70, Overlap: 10})
	require.Len(t, got, 2, "%q", got)
	require.True(t, strings.HasPrefix(got[1], "Run this:") || strings.HasPrefix(got[1], "```sh"), "%q", got[1])
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
