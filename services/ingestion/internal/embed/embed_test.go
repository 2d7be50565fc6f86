package embed_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
)

func TestHashEmbedding(t *testing.T) {
	a := embed.HashEmbedding("The quick brown fox", 64)
	b := embed.HashEmbedding("the QUICK brown fox!", 64)
	c := embed.HashEmbedding("quarterly revenue report", 64)
	require.Len(t, a, 64)
	require.Equal(t, a, b, "case and punctuation do not matter")
	var n float64
	for _, x := range a {
		n += float64(x * x)
	}
	require.InDelta(t, 1, math.Sqrt(n), 1e-5)
	require.Greater(t, embed.Dot(a, b), embed.Dot(a, c))
	require.Equal(t, make([]float32, 8), embed.HashEmbedding("  ... ", 8))
	require.Equal(t, 256, embed.Hash{}.Dimensions())
	require.Len(t, embed.Hash{Dims: 32}.Embed([]string{"a", "b"}), 2)
}

// TestMatchesInference pins a vector so a drift from inference's copy of
// the algorithm (rampart-hash-embed) is noticed.
func TestMatchesInference(t *testing.T) {
	v := embed.HashEmbedding("hello world", 8)
	nonzero := 0
	for _, x := range v {
		if x != 0 {
			nonzero++
		}
	}
	require.LessOrEqual(t, nonzero, 3)
	require.Equal(t, v, embed.HashEmbedding("Hello, World", 8))
}

type otherEmbedder struct{ embed.Hash }

func TestFusionWeight(t *testing.T) {
	require.Less(t, embed.FusionWeight(embed.Hash{}), 0.5, "hash vectors only break BM25's ties")
	require.Less(t, embed.FusionWeight(&embed.Hash{}), 0.5)
	require.InDelta(t, 1.0, embed.FusionWeight(otherEmbedder{}), 0, "a learned model fuses at BM25's weight")
}
