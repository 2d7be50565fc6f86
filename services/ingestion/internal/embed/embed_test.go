package embed_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/hashembed"
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
	require.Equal(t, 768, embed.Hash{}.Dimensions())
	require.Len(t, embed.Hash{Dims: 32}.Embed([]string{"a", "b"}), 2)
}

// TestHashVersions: the current embedder is Version 2; Version 1 is still
// inference's rampart-hash-embed (pkg/hashembed.Vector) for the queries of
// collections not re-embedded yet.
func TestHashVersions(t *testing.T) {
	texts := []string{"rotate the certificates every 45 days"}
	require.Equal(t, embed.HashVersion, embed.Hash{}.Algorithm())
	require.Equal(t, hashembed.VectorV2(texts[0], 64), embed.Hash{Dims: 64}.Embed(texts)[0])
	require.Equal(t, hashembed.Vector(texts[0], 64), embed.Hash{Dims: 64, Version: 1}.Embed(texts)[0])
	require.NotEqual(t, embed.Hash{Dims: 64}.Embed(texts), embed.Hash{Dims: 64, Version: 1}.Embed(texts))
}

type otherEmbedder struct{ embed.Hash }

func TestFusion(t *testing.T) {
	require.Equal(t, embed.Fusion{Weight: 0.25}, embed.HashFusion(1), "Version 1 hash vectors only break BM25's ties")
	require.Equal(t, embed.Fusion{Scores: true, Weight: 1}, embed.HashFusion(2), "Version 2 fuses by score at BM25's weight")
	require.Equal(t, embed.HashFusion(embed.HashVersion), embed.HashFusion(0))
	require.InDelta(t, 1.0, embed.ModelFusion.Weight, 0, "a learned model fuses at BM25's weight")
	require.False(t, embed.ModelFusion.Scores)
}

func TestMixesDocument(t *testing.T) {
	for _, c := range []struct {
		name string
		e    embed.Embedder
		want bool
	}{
		{"current hash", embed.Hash{}, true},
		{"pointer", &embed.Hash{Version: 2}, true},
		{"version 1", embed.Hash{Version: 1}, false},
		{"other embedder", otherEmbedder{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, embed.MixesDocument(c.e))
		})
	}
}
