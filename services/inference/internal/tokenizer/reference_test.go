package tokenizer_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/tokenizer"
)

var referenceOnce sync.Once

// reference is tiktoken-go itself, the implementation the compact
// tokenizer replaced: counts must not change.
func reference(t testing.TB, name string) *tiktoken.Tiktoken {
	t.Helper()
	referenceOnce.Do(func() { tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader()) })
	enc, err := tiktoken.GetEncoding(name)
	require.NoError(t, err)
	return enc
}

// fragments are the kinds of text the pre-tokenising patterns treat
// differently: letters of every case and script, contractions, digits
// runs, punctuation, every kind of white space and line break, marks,
// emoji sequences, and bytes that are not UTF-8.
var fragments = []string{
	"hello", "Hello", "HELLO", "hELLo", " world", "  ", "   ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "\u00a0", "\u3000",
	"'s", "'S", "'ll", "'LL", "'ve", "'re", "'d", "'m", "'t", "don't", "WE'RE", "'", "\"",
	"0", "12", "123", "1234567", "3.14159", "-42", "1,000,000", "٣٤٥", "²",
	"!", "?!", "...", "—", "()", "{}", "[]", "<|endoftext|>", "<|fim_prefix|>", "//", "/*", "*/", "#", "@", "$", "%", "^", "&", "*", "_", "=", "+", "|", "\\", ";", ":", ",", ".", "`", "~",
	"é", "café", "naïve", "Straße", "ß", "Ǆǅǆ", "ÉCOLE", "e\u0301", "Жизнь", "привет", "日本語", "東京タワー", "한국어", "中文字符", "العربية", "עברית", "हिन्दी", "ภาษาไทย", "Ελληνικά",
	"👍", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "✓", "™", "€", "\u200b", "\ufeff",
	"\xff", "\xfe\xfd", "\xc3", "\xe2\x82",
	"func main() {\n\tfmt.Println(\"hi\")\n}\n", `{"role":"user","content":"What is 2+2?"}`, "SELECT * FROM t WHERE id = 7;",
	"https://example.com/a/b?c=d&e=f", "user@example.org", "0x1F", "snake_case_name", "camelCaseName", "PascalCase", "ALLCAPS123",
}

// randomText glues n fragments together, sometimes inside words.
func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(fragments[rng.IntN(len(fragments))])
		if rng.IntN(4) == 0 {
			b.WriteByte(" \n\t.,x7"[rng.IntN(7)])
		}
	}
	return b.String()
}

// corpus is fixed texts, this repository's documentation and code, and
// random compositions of fragments.
func corpus(t *testing.T) []string {
	t.Helper()
	texts := append([]string{}, fragments...)
	texts = append(texts, "", "tiktoken is great!", "hello world", strings.Repeat("a", 5000), strings.Repeat(" ", 300)+"x",
		strings.Repeat("ab", 1000), strings.Repeat("\n", 50), strings.Repeat("😀", 200), strings.Repeat("1", 1001))
	for _, glob := range []string{"../../README.md", "../../../../docs/adr/005*.md", "*.go", "../inference/*.go"} {
		files, err := filepath.Glob(glob)
		require.NoError(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f) //nolint:gosec // G304: the test's own repository
			require.NoError(t, err)
			texts = append(texts, string(b))
		}
	}
	rng := rand.New(rand.NewPCG(15, 56)) //nolint:gosec // G404: a fixed test corpus
	for i := range 3000 {
		texts = append(texts, randomText(rng, 1+i%40))
	}
	return texts
}

// TestCountsMatchTiktokenGo: for both encodings we ship, every text of the
// corpus counts exactly as tiktoken-go counts it (EncodeOrdinary, what
// the tokenizer used before).
func TestCountsMatchTiktokenGo(t *testing.T) {
	texts := corpus(t)
	for _, tc := range []struct{ model, encoding string }{
		{"gpt-4", tokenizer.CL100KBase},
		{"gpt-4o", tokenizer.O200KBase},
	} {
		t.Run(tc.encoding, func(t *testing.T) {
			c := tokenizer.For("openai", tc.model, "")
			require.True(t, c.Exact())
			require.Same(t, c, tokenizer.For("local", "any", tc.encoding), "model name and explicit setting share the encoding")
			ref := reference(t, tc.encoding)
			total := 0
			for i, s := range texts {
				want := len(ref.EncodeOrdinary(s))
				require.Equal(t, want, c.Count(s), "text %d (%d bytes): %.80q", i, len(s), s)
				total += want
			}
			t.Logf("%d texts, %d tokens", len(texts), total)
		})
	}
}

func TestConcurrentCounts(t *testing.T) {
	c := tokenizer.For("openai", "gpt-4o", "")
	ref := reference(t, tokenizer.O200KBase)
	texts := corpus(t)[:400]
	want := make([]int, len(texts))
	for i, s := range texts {
		want[i] = len(ref.EncodeOrdinary(s))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(texts); i += 4 {
				if got := c.Count(texts[i]); got != want[i] {
					t.Errorf("text %d: %d tokens, want %d", i, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCount(b *testing.B) {
	text := "The quick brown fox jumps over the lazy dog, and then it writes a short essay about tokenizers. " +
		"Unicode too: café, Straße, 日本語, 👍🏽. Numbers 1234567 and code: func main() { fmt.Println(\"hi\") }\n"
	for _, tc := range []struct{ model, encoding string }{{"gpt-4", tokenizer.CL100KBase}, {"gpt-4o", tokenizer.O200KBase}} {
		b.Run(tc.encoding+"/compact", func(b *testing.B) {
			c := tokenizer.For("openai", tc.model, "")
			c.Count(text)
			b.ReportAllocs()
			for b.Loop() {
				c.Count(text)
			}
		})
		b.Run(tc.encoding+"/tiktoken-go", func(b *testing.B) {
			ref := reference(b, tc.encoding)
			b.ReportAllocs()
			for b.Loop() {
				_ = len(ref.EncodeOrdinary(text))
			}
		})
	}
}
