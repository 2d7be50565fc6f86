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
	const n, dims = 1000, 32
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
	deadline := time.Now().Add(3 * time.Minute) // a liveness bound: -race on a loaded CI machine is slow
	for first := true; ; first = false {
		hits, err := vs.Search(ctx, "t", "big", entries[42].Vec, 5, load)
		require.NoError(t, err)
		require.NotEmpty(t, hits)
		if first { // exact until the background build is done
			require.Equal(t, "c42", hits[0].ID, "a stored vector is its own best hit")
		}
		if vs.UsesANN("t", "big") {
			break
		}
		require.True(t, time.Now().Before(deadline), "graph not built in time")
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 1, loads, "loaded once, graph built from the cached load")
	// Approximate: the graph is built in parallel, so which rare query it
	// misses varies from run to run. Hold recall@1, not perfection (the
	// recall test of internal/ann measures it properly).
	const queries = 200
	same := 0
	for range queries {
		q := entries[r.IntN(n)].Vec
		hits, err := vs.Search(ctx, "t", "big", q, 1, load)
		require.NoError(t, err)
		if exact.TopK(q, 1)[0].ID == hits[0].ID {
			same++
		}
	}
	require.GreaterOrEqual(t, same, queries*95/100, "recall@1 of the graph against exact search")

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
		deadline := time.Now().Add(3 * time.Minute)
		for !vs.UsesANN("t", c) {
			_, err := vs.Search(ctx, "t", c, entries[0].Vec, 1, load)
			require.NoError(t, err)
			require.True(t, time.Now().Before(deadline), "graph of %s not built in time", c)
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func unitVectors(r *rand.Rand, n, dims int, prefix string) []index.VectorEntry {
	out := make([]index.VectorEntry, n)
	for i := range out {
		v := make([]float32, dims)
		var norm float64
		for d := range v {
			v[d] = float32(r.NormFloat64())
			norm += float64(v[d]) * float64(v[d])
		}
		for d := range v {
			v[d] /= float32(math.Sqrt(norm))
		}
		out[i] = index.VectorEntry{ID: fmt.Sprint(prefix, i), Vec: v}
	}
	return out
}

// TestVectorsAddRemoveInPlace: writes change a cached collection in place,
// exact or through its graph, without reloading it or rebuilding the
// graph: added vectors are found at once, removed ones never again, a
// replaced id answers with its new vector; a quarter tombstoned drops the
// collection so the next search reloads only the live rows.
func TestVectorsAddRemoveInPlace(t *testing.T) {
	const dims = 32
	for _, tc := range []struct {
		name      string
		n, annMin int
	}{
		{"exact", 500, 0},
		{"graph", 1000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			entries := unitVectors(r, tc.n, dims, "c")
			loads := 0
			load := func(context.Context, string, string) ([]index.VectorEntry, error) {
				loads++
				return entries, nil
			}
			vs := index.NewVectors(0).WithANN(tc.annMin)
			ctx := context.Background()
			search := func(q []float32, k int) []index.Hit {
				hits, err := vs.Search(ctx, "t", "kb", q, k, load)
				require.NoError(t, err)
				return hits
			}
			search(entries[0].Vec, 1)
			if tc.annMin > 0 {
				deadline := time.Now().Add(3 * time.Minute)
				for !vs.UsesANN("t", "kb") {
					require.True(t, time.Now().Before(deadline), "graph not built in time")
					time.Sleep(20 * time.Millisecond)
				}
			}

			added := unitVectors(r, 200, dims, "new")
			vs.Add("t", "kb", added)
			for _, e := range added[:20] {
				require.Equal(t, e.ID, search(e.Vec, 3)[0].ID, "an added vector is found at once")
			}

			removed := map[string]bool{}
			var ids []string
			for _, e := range append(entries[:50:50], added[:50]...) {
				ids = append(ids, e.ID)
				removed[e.ID] = true
			}
			vs.Remove("t", "kb", ids)
			for _, e := range append(entries[:20:20], added[:20]...) {
				for _, h := range search(e.Vec, 10) {
					require.False(t, removed[h.ID], "removed %s returned", h.ID)
				}
			}

			// the same id with another vector: the new one answers
			moved := index.VectorEntry{ID: entries[60].ID, Vec: added[150].Vec}
			vs.Add("t", "kb", []index.VectorEntry{moved})
			hits := search(added[150].Vec, 2)
			require.ElementsMatch(t, []string{added[150].ID, moved.ID}, []string{hits[0].ID, hits[1].ID})
			for _, h := range search(entries[60].Vec, 5) {
				if h.ID == moved.ID {
					require.Less(t, h.Score, 0.99, "the old vector of a replaced id is gone")
				}
			}

			// a graph keeps serving after its new rows are linked
			if tc.annMin > 0 {
				time.Sleep(200 * time.Millisecond)
				require.True(t, vs.UsesANN("t", "kb"), "no rebuild for writes")
				require.Equal(t, added[199].ID, search(added[199].Vec, 1)[0].ID)
			}
			require.Equal(t, 1, loads, "writes never reload")

			// tombstone a quarter: dropped, and the next search reloads
			ids = ids[:0]
			for _, e := range entries[50 : 50+tc.n/4] {
				ids = append(ids, e.ID)
			}
			vs.Remove("t", "kb", ids)
			search(entries[0].Vec, 1)
			require.Equal(t, 2, loads, "reloaded after a quarter was deleted")

			// a collection not cached ignores writes (its next load has them)
			vs.Add("t", "other", added[:1])
			vs.Remove("t", "other", []string{"c1"})
			require.False(t, vs.UsesANN("t", "other"))
		})
	}
}
