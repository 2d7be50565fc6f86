package index

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

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
// 30,000-word vocabulary, as BenchmarkIngest) into distinct terms and
// their frequencies (what Lexical.Index analyses per chunk).
func BenchmarkAnalyzerFrequencies(b *testing.B) {
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
	texts := make([]string, 256)
	for i := range texts {
		var sb strings.Builder
		for j := range 300 {
			sb.WriteString(vocab[z.Uint64()])
			sb.WriteString([]string{" ", " ", " ", ". "}[j%4])
		}
		texts[i] = sb.String()
	}
	var c counter
	b.ResetTimer()
	for i := range b.N {
		defaultAnalyzer.count(texts[i%len(texts)], &c)
	}
}
