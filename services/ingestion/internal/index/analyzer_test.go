package index

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/stretchr/testify/require"
)

// TestFastAnalyzerMatchesChain: the fused analyser gives exactly the
// tokens (term, offsets, position, type) of bleve's filter chain it
// replaces, on ASCII and non-ASCII text, stop words, digits, punctuation,
// invalid UTF-8 and random mixtures, twice (the second pass through the
// stem memo).
func TestFastAnalyzerMatchesChain(t *testing.T) {
	ref, err := chain(registry.NewCache())
	require.NoError(t, err)
	an := defaultAnalyzer

	texts := []string{
		"",
		"The VPN certificates rotate every 45 days, and THE running runners ran.",
		"Ünïcödé wörds: Straße, ΣΟΦΟΣ, naïve café — and résumés; 東京 2026年",
		"Ⱥ and Ⱦ widen when lower-cased: ȺȺȺ ȾȾ",
		"a an the of to is are\twas\nwere be",
		"x86_64 AVX2/FMA: 3.14e-10 ≤ v1.2.3 (rc-1)",
		"stops at invalid \xff bytes here",
		"stops at the replacement \uFFFD rune too",
		"trailing word",
		"   leading and trailing spaces   ",
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-'\"éÉßΣσ東\t\n")
	for range 300 {
		var b strings.Builder
		for range r.IntN(200) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for pass := range 2 {
		for _, text := range texts {
			want := ref.Analyze([]byte(text))
			for _, tk := range want {
				require.Equal(t, analysis.AlphaNumeric, tk.Type)
				require.False(t, tk.KeyWord)
			}
			got := an.Analyze([]byte(text))
			require.Equal(t, flatten(want), flattenOwn(got), "pass %d, text %q", pass, text)
		}
	}
}

type tok struct {
	Term            string
	Start, End, Pos int
}

func flatten(ts analysis.TokenStream) []tok {
	out := make([]tok, len(ts))
	for i, t := range ts {
		out[i] = tok{string(t.Term), t.Start, t.End, t.Position}
	}
	return out
}

func flattenOwn(ts []token) []tok {
	out := make([]tok, len(ts))
	for i, t := range ts {
		out[i] = tok{string(t.Term), t.Start, t.End, t.Position}
	}
	return out
}

// TestStopWordsMatchBleve: the stop list is bleve's stop_en, word for
// word.
func TestStopWordsMatchBleve(t *testing.T) {
	m, err := registry.NewCache().TokenMapNamed(en.StopName)
	require.NoError(t, err)
	want := map[string]bool{}
	for w := range m {
		want[w] = true
	}
	require.Equal(t, want, englishStopWords)
}

func BenchmarkAnalyzer(b *testing.B) {
	ref, err := chain(registry.NewCache())
	require.NoError(b, err)
	an := defaultAnalyzer
	text := []byte(strings.Repeat("The VPN certificates rotate every 45 days, and running runners ran quickly through configurations. ", 15))
	b.Run("fused", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			_ = an.Analyze(text)
		}
	})
	b.Run("chain", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			_ = ref.Analyze(append([]byte(nil), text...))
		}
	})
}
