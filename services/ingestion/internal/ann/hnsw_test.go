package ann_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/ann"
)

// clustered draws n unit vectors of dims dimensions that lie near a
// latent-dimensional subspace (a random linear map of latent Gaussian
// coordinates around c topic centres, plus 5% isotropic noise): the shape
// of text embeddings, whose intrinsic dimension is far below their width.
// With latent == dims it is plain Gaussian clusters (the hard case).
func clustered(r *rand.Rand, n, dims, c int, sigma float64) []float32 {
	return embedded(r, n, dims, dims, c, sigma)
}

func embedded(r *rand.Rand, n, dims, latent, c int, sigma float64) []float32 {
	w := make([]float64, dims*latent)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	if latent == dims { // identity: no projection
		clear(w)
		for d := range dims {
			w[d*latent+d] = 1
		}
	}
	centres := make([][]float64, c)
	for i := range centres {
		centres[i] = make([]float64, latent)
		for d := range latent {
			centres[i][d] = r.NormFloat64()
		}
	}
	out := make([]float32, n*dims)
	z := make([]float64, latent)
	for i := range n {
		ctr := centres[r.IntN(c)]
		for d := range latent {
			z[d] = ctr[d] + sigma*r.NormFloat64()
		}
		v := out[i*dims : (i+1)*dims]
		var norm float64
		for d := range dims {
			x := 0.0
			for j := range latent {
				x += w[d*latent+j] * z[j]
			}
			if latent != dims {
				x += 0.05 * math.Sqrt(float64(latent)) * r.NormFloat64()
			}
			v[d] = float32(x)
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for d := range v {
			v[d] = float32(float64(v[d]) / norm)
		}
	}
	return out
}

func exact(vecs []float32, dims int, q []float32, k int) []int {
	n := len(vecs) / dims
	type hit struct {
		i int
		s float32
	}
	hs := make([]hit, n)
	for i := range n {
		var s float32
		for d := range dims {
			s += q[d] * vecs[i*dims+d]
		}
		hs[i] = hit{i, s}
	}
	sort.Slice(hs, func(a, b int) bool { return hs[a].s > hs[b].s })
	out := make([]int, k)
	for i := range out {
		out[i] = hs[i].i
	}
	return out
}

// recall@k of the graph against exact search over held-out queries.
func recall(t testing.TB, ix *ann.Index, vecs, queries []float32, dims, k, ef int) float64 {
	hit, total := 0, 0
	for qi := 0; qi < len(queries)/dims; qi++ {
		q := queries[qi*dims : (qi+1)*dims]
		want := map[int]bool{}
		for _, i := range exact(vecs, dims, q, k) {
			want[i] = true
		}
		got := ix.Search(q, k, ef)
		require.LessOrEqual(t, len(got), k)
		for j, g := range got {
			if j > 0 {
				require.GreaterOrEqual(t, got[j-1].Score, g.Score, "sorted best first")
			}
			if want[g.Index] {
				hit++
			}
		}
		total += k
	}
	return float64(hit) / float64(total)
}

// TestRecallAgainstExact holds recall@10 ≥ 0.95 at the default search
// width on embedding-shaped data (384 dimensions, intrinsic dimension 24,
// 100 topics), with queries that are not in the graph (10,000 vectors;
// 2,500 under the race detector).
func TestRecallAgainstExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, dims = 10000 / shrink, 384
	// One generator call, so queries share the subspace and topics.
	all := embedded(r, n+100, dims, 24, 100, 0.7)
	vecs, queries := all[:n*dims], all[n*dims:]
	ix := ann.Build(vecs, dims, ann.Options{Seed: 7})
	require.Equal(t, n, ix.Len())
	got := recall(t, ix, vecs, queries, dims, 10, 0)
	t.Logf("recall@10 = %.3f", got)
	require.GreaterOrEqual(t, got, 0.95)
}

func TestSmallAndEdgeCases(t *testing.T) {
	ix := ann.Build(nil, 8, ann.Options{})
	require.Zero(t, ix.Len())
	require.Empty(t, ix.Search(make([]float32, 8), 5, 0))

	r := rand.New(rand.NewPCG(3, 4))
	vecs := clustered(r, 5, 8, 2, 0.5)
	ix = ann.Build(vecs, 8, ann.Options{Seed: 1})
	got := ix.Search(vecs[8:16], 10, 0) // fewer vectors than k: all of them
	require.Len(t, got, 5)
	require.Equal(t, 1, got[0].Index, "a stored vector finds itself first")
	require.InDelta(t, 1, got[0].Score, 1e-5)
	require.Empty(t, ix.Search(make([]float32, 7), 3, 0), "wrong dimension")
	require.Empty(t, ix.Search(vecs[:8], 0, 0))
}

// TestIncrementalInsert: vectors added to a built graph are found at once
// (scanned exactly until linked), and after Link the grown graph keeps the
// recall of one built in one go, with searches running during the link.
func TestIncrementalInsert(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const n, dims = 4000 / shrink, 64
	all := embedded(r, n+50, dims, 12, 40, 0.7)
	vecs, queries := all[:n*dims], all[n*dims:]
	half := n / 2 * dims
	ix := ann.Build(vecs[:half], dims, ann.Options{Seed: 3})
	require.Equal(t, n/2, ix.Linked())

	first := ix.Add(vecs[half:])
	require.Equal(t, n/2, first)
	require.Equal(t, n, ix.Len())
	require.Equal(t, n/2, ix.Linked(), "added, not linked yet")
	for _, id := range []int{n / 2, n/2 + 7, n - 1} {
		got := ix.Search(vecs[id*dims:(id+1)*dims], 3, 0)
		require.Equal(t, id, got[0].Index, "an unlinked vector is found by the exact tail scan")
	}
	require.GreaterOrEqual(t, recall(t, ix, vecs, queries, dims, 10, 0), 0.95, "before Link")

	done := make(chan struct{})
	go func() { defer close(done); ix.Link(2) }()
	for searching := true; searching; {
		select {
		case <-done:
			searching = false
		default:
			q := queries[:dims]
			require.NotEmpty(t, ix.Search(q, 10, 0))
		}
	}
	require.Equal(t, n, ix.Linked())
	got := recall(t, ix, vecs, queries, dims, 10, 0)
	t.Logf("recall@10 after incremental insert = %.3f", got)
	require.GreaterOrEqual(t, got, 0.95)
	for _, id := range []int{n / 2, n - 1} {
		require.Equal(t, id, ix.Search(vecs[id*dims:(id+1)*dims], 1, 0)[0].Index, "linked vector finds itself")
	}
}

// TestDelete: a tombstoned vector is never returned, not even as its own
// best match, and the live vectors keep their recall against exact search
// over what is left (the graph still walks through the dead nodes).
func TestDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n, dims = 3000 / shrink, 64
	all := embedded(r, n+50, dims, 12, 40, 0.7)
	vecs, queries := all[:n*dims], all[n*dims:]
	ix := ann.Build(vecs, dims, ann.Options{Seed: 5})
	dead := map[int]bool{}
	for i := 0; i < n; i += 4 { // a quarter, the entry point among them
		ix.Delete(i)
		dead[i] = true
	}
	ix.Delete(0) // twice: counted once
	ix.Delete(-1)
	ix.Delete(n) // out of range: ignored
	require.Equal(t, len(dead), ix.Deleted())

	for id := range dead {
		for _, h := range ix.Search(vecs[id*dims:(id+1)*dims], 10, 0) {
			require.False(t, dead[h.Index], "deleted %d returned", h.Index)
		}
	}
	// exact over the survivors, in their original ids
	live := make([]float32, 0, n*dims)
	ids := make([]int, 0, n)
	for i := range n {
		if !dead[i] {
			live = append(live, vecs[i*dims:(i+1)*dims]...)
			ids = append(ids, i)
		}
	}
	hit, total := 0, 0
	for qi := range len(queries) / dims {
		q := queries[qi*dims : (qi+1)*dims]
		want := map[int]bool{}
		for _, j := range exact(live, dims, q, 10) {
			want[ids[j]] = true
		}
		for _, h := range ix.Search(q, 10, 0) {
			require.False(t, dead[h.Index])
			if want[h.Index] {
				hit++
			}
		}
		total += 10
	}
	got := float64(hit) / float64(total)
	t.Logf("recall@10 with a quarter deleted = %.3f", got)
	require.GreaterOrEqual(t, got, 0.95)

	// deletes of vectors still in the exact tail are honoured too
	id := ix.Add(vecs[dims : 2*dims])
	ix.Delete(id)
	for _, h := range ix.Search(vecs[dims:2*dims], 5, 0) {
		require.NotEqual(t, id, h.Index)
	}
}
