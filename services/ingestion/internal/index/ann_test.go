package index_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
)

// TestVectorsSwitchToANN: a collection at the threshold is searched exactly
// at once and through the HNSW graph once its background build is done,
// with the same best hits; a smaller one stays exact.
func TestVectorsSwitchToANN(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, dims = 3000, 32
	entries := make([]index.VectorEntry, n)
	for i := range entries {
		v := make([]float32, dims)
		var norm float64
		for d := range v {
			v[d] = float32(r.NormFloat64())
			norm += float64(v[d]) * float64(v[d])
		}
		for d := range v {
			v[d] /= float32(math.Sqrt(norm))
		}
		entries[i] = index.VectorEntry{ID: fmt.Sprint("c", i), Vec: v}
	}
	loads := 0
	load := func(context.Context, string, string) ([]index.VectorEntry, error) { loads++; return entries, nil }
	vs := index.NewVectors(0).WithANN(n)
	ctx := context.Background()

	exact := index.NewMatrix(entries)
	deadline := time.Now().Add(30 * time.Second)
	for {
		hits, err := vs.Search(ctx, "t", "big", entries[42].Vec, 5, load)
		require.NoError(t, err)
		require.Equal(t, "c42", hits[0].ID, "a stored vector is its own best hit")
		if vs.UsesANN("t", "big") {
			break
		}
		require.True(t, time.Now().Before(deadline), "graph not built in time")
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 1, loads, "loaded once, graph built from the cached load")
	for i := 0; i < 50; i++ {
		q := entries[r.IntN(n)].Vec
		hits, err := vs.Search(ctx, "t", "big", q, 1, load)
		require.NoError(t, err)
		require.Equal(t, exact.TopK(q, 1)[0].ID, hits[0].ID)
	}

	_, err := vs.Search(ctx, "t", "small", entries[0].Vec, 5, func(context.Context, string, string) ([]index.VectorEntry, error) {
		return entries[:n-1], nil
	})
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	require.False(t, vs.UsesANN("t", "small"), "below the threshold")

	vs.Invalidate("t", "big")
	require.False(t, vs.UsesANN("t", "big"), "invalidated: rebuilt on the next search")

	// Two large collections: the builder takes one at a time, and the
	// other is built by a later search once it is free.
	for _, c := range []string{"x", "y"} {
		deadline := time.Now().Add(60 * time.Second)
		for !vs.UsesANN("t", c) {
			_, err := vs.Search(ctx, "t", c, entries[0].Vec, 1, load)
			require.NoError(t, err)
			require.True(t, time.Now().Before(deadline), "graph of %s not built in time", c)
			time.Sleep(20 * time.Millisecond)
		}
	}
}
