package hashembed

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestVector(t *testing.T) {
	a := Vector("The quick brown fox", 128)
	require.Equal(t, a, Vector("the QUICK brown fox!", 128), "case and punctuation do not matter")
	var norm float64
	for _, x := range a {
		norm += float64(x) * float64(x)
	}
	require.InDelta(t, 1, math.Sqrt(norm), 1e-6, "L2-normalised")
	related := cos(a, Vector("quick brown foxes jump", 128))
	unrelated := cos(a, Vector("tax invoices and receipts", 128))
	require.Greater(t, related, unrelated)
	require.Equal(t, make([]float32, 8), Vector("!!!", 8))
}

func TestWords(t *testing.T) {
	require.Equal(t, []string{"héllo", "wörld", "42"}, Words("Héllo, WÖRLD -- 42!"))
}

// reference is the straightforward form of Vector (hash/fnv per feature,
// bigrams built as strings) that the inline hashing must reproduce: stored
// vectors and query vectors have to stay comparable across versions.
func reference(text string, dims int) []float32 {
	v := make([]float64, dims)
	ws := Words(text)
	feature := func(s string) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(s))
		x := h.Sum64()
		if idx := int(x % uint64(dims)); x>>63 == 1 { //nolint:gosec // test
			v[idx]--
		} else {
			v[idx]++
		}
	}
	for i, w := range ws {
		feature(w)
		if i > 0 {
			feature(ws[i-1] + " " + w)
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

func TestVectorMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcdefghijklmnopqrstuvwxyzABC0123 .,;-éÉßΣ東\n")
	texts := []string{"", "one", "The quick brown fox jumps over the lazy dog", "Héllo, WÖRLD -- 42!"}
	for range 200 {
		var b strings.Builder
		for range r.IntN(300) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	for _, text := range texts {
		for _, dims := range []int{8, 256, 384} {
			require.Equal(t, reference(text, dims), Vector(text, dims), "%q at %d", text, dims)
		}
	}
}
