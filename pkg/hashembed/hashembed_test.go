package hashembed

import (
	"math"
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
