package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/stretchr/testify/require"
)

// zipfTexts makes n chunk texts of Zipf-drawn words, with some upper
// case, stop words, digits and non-ASCII words among them.
func zipfTexts(seed uint64, n, words int) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	z := rand.NewZipf(r, 1.1, 1, 5000)
	extra := []string{"The", "and", "RUNNING", "runners", "Straße", "café", "x86", "2026", "naïve", "ΣΟΦΟΣ"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for j := range words {
			if j%9 == 4 {
				b.WriteString(extra[r.IntN(len(extra))])
			} else {
				fmt.Fprintf(&b, "w%xing", z.Uint64())
			}
			b.WriteString([]string{" ", ", ", ". ", "\n"}[r.IntN(4)])
		}
		out[i] = b.String()
	}
	return out
}

// TestTextFieldMatchesMapping: the field Lexical.Index builds analyses to
// exactly what bleve's mapping made of {"text": …} (length, terms and
// their frequencies, indexing options), so the indexed postings and norms
// are the same as before.
func TestTextFieldMatchesMapping(t *testing.T) {
	im := newMapping()
	an, ok := im.AnalyzerNamed(AnalyzerName).(*fastAnalyzer)
	require.True(t, ok)
	texts := append(zipfTexts(1, 200, 60),
		"", "the and of", "Ünïcödé wörds: Straße, ΣΟΦΟΣ, naïve café — 東京 2026年",
		"stops at invalid \xff bytes here", "Running runners ran; RUNNING run runs.")
	for pass := range 2 { // the second through the stem memo
		for _, text := range texts {
			doc := document.NewDocument("x")
			require.NoError(t, im.MapDocument(doc, map[string]any{"text": text}))
			var want *document.TextField
			for _, f := range doc.Fields {
				if tf, ok := f.(*document.TextField); ok && f.Name() == "text" {
					want = tf
				}
			}
			require.NotNil(t, want)
			want.Analyze()
			got := &textField{value: []byte(text), an: an}
			got.Analyze()
			require.Equal(t, want.Options(), got.Options(), "text %q", text)
			require.Equal(t, want.AnalyzedLength(), got.AnalyzedLength(), "pass %d, text %q", pass, text)
			require.Equal(t, freqMap(want), freqMap(got), "pass %d, text %q", pass, text)
			var hashes []uint64
			for k, tf := range got.AnalyzedTokenFrequencies() {
				require.Equal(t, k, string(tf.Term))
				hashes = append(hashes, termHash(tf.Term))
			}
			require.ElementsMatch(t, hashes, got.hashes, "one hash per distinct term")
		}
	}
}

func freqMap(f document.Field) map[string]int {
	out := map[string]int{}
	for k, tf := range f.AnalyzedTokenFrequencies() {
		out[k] = tf.Frequency()
	}
	return out
}

// TestBM25ScoresIndependentOfSegments: the same chunks indexed in one
// batch (one segment) and in 40 (many segments, merged as the policy
// decides) score the same, and the average length passed to bleve is the
// distinct terms of the field over the chunks, rounded up.
func TestBM25ScoresIndependentOfSegments(t *testing.T) {
	texts := zipfTexts(2, 400, 80)
	entries := make([]Entry, len(texts))
	for i, text := range texts {
		entries[i] = Entry{ID: fmt.Sprintf("d:%d", i), Text: text}
	}
	one := NewLexical(t.TempDir())
	many := NewLexical(t.TempDir())
	t.Cleanup(func() { _ = one.Close(); _ = many.Close() })
	require.NoError(t, one.Index("t", "c", entries))
	for i := 0; i < len(entries); i += 10 {
		require.NoError(t, many.Index("t", "c", entries[i:i+10]))
	}
	queries := zipfTexts(3, 30, 5)
	found := 0
	for _, q := range queries {
		a, err := one.Search("t", "c", q, 20)
		require.NoError(t, err)
		b, err := many.Search("t", "c", q, 20)
		require.NoError(t, err)
		found += len(a)
		requireSameHits(t, a, b, q)
	}

	require.Greater(t, found, 100)

	// the statistic: distinct terms over chunks, rounded up
	ix, err := many.get("t", "c", false)
	require.NoError(t, err)
	adv, err := ix.Advanced()
	require.NoError(t, err)
	r, err := adv.Reader()
	require.NoError(t, err)
	defer r.Close()
	d, err := r.FieldDict("text")
	require.NoError(t, err)
	distinct := 0
	for e, err := d.Next(); e != nil; e, err = d.Next() {
		require.NoError(t, err)
		distinct++
	}
	require.NoError(t, d.Close())
	st, err := many.bm25Stats("t\x00c", r, 400)
	require.NoError(t, err)
	avg := math.Ceil(float64(distinct) / 400)
	require.InDelta(t, avg*400, st.FieldCardinality["text"], 0)

	// an index opened again counts its vocabulary from its dictionary
	require.NoError(t, many.Close())
	again := NewLexical(many.dir)
	t.Cleanup(func() { _ = again.Close() })
	hits, err := again.Search("t", "c", queries[0], 20)
	require.NoError(t, err)
	a, err := one.Search("t", "c", queries[0], 20)
	require.NoError(t, err)
	requireSameHits(t, a, hits, queries[0])
}

// requireSameHits: the same scores rank by rank, and the same ids above
// the last score (exact ties come in either order and are cut anywhere at
// k: bleve breaks them by internal document number).
func requireSameHits(t *testing.T, a, b []Hit, q string) {
	t.Helper()
	require.Len(t, b, len(a), q)
	if len(a) == 0 {
		return
	}
	last := a[len(a)-1].Score * (1 + 1e-9)
	ids := func(hs []Hit) []string {
		var out []string
		for _, h := range hs {
			if h.Score > last {
				out = append(out, h.ID)
			}
		}
		return out
	}
	for i := range a {
		require.InDelta(t, a[i].Score, b[i].Score, 1e-9*a[i].Score, "query %q, hit %d", q, i)
	}
	require.ElementsMatch(t, ids(a), ids(b), q)
}

// BenchmarkAnalyzerFrequencies: analysing 300-word chunks of Zipf prose (a
// 30,000-word vocabulary, as BenchmarkIngest) into term frequencies.
func BenchmarkAnalyzerFrequencies(b *testing.B) {
	an, ok := newMapping().AnalyzerNamed(AnalyzerName).(*fastAnalyzer)
	require.True(b, ok)
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 30000)
	for i := range vocab {
		w := make([]byte, 3+r.IntN(8))
		for j := range w {
			w[j] = "abcdefghijklmnopqrstuvwxyz"[r.IntN(26)]
		}
		vocab[i] = string(w)
	}
	z := rand.NewZipf(r, 1.1, 1, 29999)
	texts := make([][]byte, 256)
	for i := range texts {
		var sb strings.Builder
		for j := range 300 {
			sb.WriteString(vocab[z.Uint64()])
			sb.WriteString([]string{" ", " ", " ", ". "}[j%4])
		}
		texts[i] = []byte(sb.String())
	}
	b.ResetTimer()
	for i := range b.N {
		f := textField{value: texts[i%len(texts)], an: an}
		f.Analyze()
	}
}

// TestVocabularyConcurrentAndReopened: chunks indexed by two goroutines
// while a third searches, then more indexed into the reopened index before
// its first search (the vocabulary counted from what was added and from
// the dictionary): the count is the dictionary's distinct terms each time.
func TestVocabularyConcurrentAndReopened(t *testing.T) {
	dir := t.TempDir()
	l := NewLexical(dir)
	texts := zipfTexts(4, 300, 40)
	entries := make([]Entry, len(texts))
	for i, text := range texts {
		entries[i] = Entry{ID: fmt.Sprintf("d:%d", i), Text: text}
	}
	done := make(chan error, 2)
	for w := range 2 {
		go func() {
			for i := w * 10; i < 200; i += 20 {
				if err := l.Index("t", "c", entries[i:i+10]); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 20 {
		_, err := l.Search("t", "c", texts[0][:40], 5)
		require.NoError(t, err)
	}
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	requireVocabularyCounted(t, l, 200)
	require.NoError(t, l.Close())

	again := NewLexical(dir)
	t.Cleanup(func() { _ = again.Close() })
	require.NoError(t, again.Index("t", "c", entries[200:]))
	requireVocabularyCounted(t, again, 300)
}

func requireVocabularyCounted(t *testing.T, l *Lexical, n uint64) {
	t.Helper()
	ix, err := l.get("t", "c", false)
	require.NoError(t, err)
	adv, err := ix.Advanced()
	require.NoError(t, err)
	r, err := adv.Reader()
	require.NoError(t, err)
	defer r.Close()
	got, err := r.DocCount()
	require.NoError(t, err)
	require.Equal(t, n, got)
	d, err := r.FieldDict("text")
	require.NoError(t, err)
	distinct := 0
	for e, err := d.Next(); e != nil; e, err = d.Next() {
		require.NoError(t, err)
		distinct++
	}
	require.NoError(t, d.Close())
	v, err := l.vocab("t\x00c", r)
	require.NoError(t, err)
	require.Equal(t, uint64(distinct), v.size())
}
