package index

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// previousScores is Matrix.TopK's scoring as it was before the tiles and
// the AVX2 kernels: whole-column passes, four columns at a time.
func previousScores(m *Matrix, q []float32) []float32 {
	scores := make([]float32, m.Len())
	var ws [4]float32
	var cs [4][]float32
	n := 0
	flush := func() {
		switch n {
		case 4:
			w0, w1, w2, w3 := ws[0], ws[1], ws[2], ws[3]
			c0, c1, c2, c3 := cs[0][:len(scores)], cs[1][:len(scores)], cs[2][:len(scores)], cs[3][:len(scores)]
			for i := range scores {
				scores[i] += w0*c0[i] + w1*c1[i] + w2*c2[i] + w3*c3[i]
			}
		default:
			for j := range n {
				w, c := ws[j], cs[j][:len(scores)]
				for i := range scores {
					scores[i] += w * c[i]
				}
			}
		}
		n = 0
	}
	for d, w := range q {
		if w == 0 || d >= len(m.cols) {
			continue
		}
		ws[n], cs[n] = w, m.cols[d]
		if n++; n == 4 {
			flush()
		}
	}
	flush()
	return scores
}

// TestTopKMatchesPrevious: the tiled AVX2 scoring gives every score bit for
// bit as before (so rankings and ties are unchanged), for row counts that
// are not multiples of 8 or of the tile and queries whose non-zero
// dimensions leave 0–3 columns after the groups of four.
func TestTopKMatchesPrevious(t *testing.T) {
	avx := useAVX2
	t.Cleanup(func() { useAVX2 = avx })
	for _, useAVX2 = range []bool{avx, false} { // the kernels, then the Go loops
		topKMatchesPrevious(t)
	}
}

func topKMatchesPrevious(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, rows := range []int{1, 7, 8, 9, 100, scoreTile - 1, scoreTile + 13, 3*scoreTile + 5} {
		dims := 96
		entries := make([]VectorEntry, rows)
		for i := range entries {
			v := make([]float32, dims)
			for d := range v {
				v[d] = float32(r.NormFloat64())
			}
			entries[i] = VectorEntry{ID: fmt.Sprint(i), Vec: unit(v, dims)}
		}
		m := NewMatrix(entries)
		for _, nz := range []int{1, 2, 3, 4, 5, 7, 13, 40, 96} {
			q := make([]float32, dims)
			for _, d := range r.Perm(dims)[:nz] {
				q[d] = float32(r.NormFloat64())
			}
			want := previousScores(m, q)
			got := m.scores(q)
			require.Equal(t, want, got, "rows %d, %d non-zero dims, AVX2 %v", rows, nz, useAVX2)
			hits := m.TopK(q, 10)
			for _, h := range hits {
				var i int
				_, _ = fmt.Sscan(h.ID, &i)
				require.Equal(t, float64(want[i]), h.Score)
			}
		}
	}
}

// previousTopK is TopK as it was: the exact scores of every row, then the
// heap.
func previousTopK(m *Matrix, q []float32, k int) []Hit {
	scores := previousScores(m, q)
	h := &minHeap{}
	for i, sc := range scores {
		s := float64(sc)
		if s <= 1e-6 || m.dead[i] {
			continue
		}
		if h.Len() < k {
			heap.Push(h, Hit{m.ids[i], s})
		} else if s > (*h)[0].Score {
			(*h)[0] = Hit{m.ids[i], s}
			heap.Fix(h, 0)
		}
	}
	out := make([]Hit, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		x, _ := heap.Pop(h).(Hit)
		out[i] = x
	}
	return out
}

// TestQuantisedTopKMatchesExact: the int8 prefilter returns exactly the
// exact pass's hits (ids, scores, order, ties between duplicate rows),
// also after rows were appended past the columns' scales and others
// tombstoned.
func TestQuantisedTopKMatchesExact(t *testing.T) {
	if !quantised() {
		t.Skip("no AVX2: TopK is exact only")
	}
	r := rand.New(rand.NewPCG(21, 22))
	dims := 128
	vec := func(spread float64) []float32 {
		v := make([]float32, dims)
		for d := range v {
			v[d] = float32(r.NormFloat64() * spread)
		}
		return unit(v, dims)
	}
	rows := quantisedFrom + 1003
	entries := make([]VectorEntry, rows)
	for i := range entries {
		entries[i] = VectorEntry{ID: fmt.Sprintf("r%05d", i), Vec: vec(1)}
	}
	for i := 0; i < 300; i += 3 { // duplicates: equal scores
		entries[i+1].Vec = entries[i].Vec
		entries[i+2].Vec = entries[i].Vec
	}
	m := NewMatrix(entries)
	check := func(label string) {
		t.Helper()
		for _, nz := range []int{1, 3, 4, 9, 40, 128} {
			for _, k := range []int{1, 5, 50, 400} {
				q := make([]float32, dims)
				for _, d := range r.Perm(dims)[:nz] {
					q[d] = float32(r.NormFloat64())
				}
				if nz > 3 && k == 5 { // a query close to a duplicated row: ties at the top
					copy(q, entries[3].Vec)
				}
				require.Equal(t, previousTopK(m, q, k), m.TopK(q, k), "%s: %d non-zero dims, k %d", label, nz, k)
			}
		}
	}
	check("built")
	for i := range 200 { // appended, some beyond the scales (clamped)
		v := vec(1)
		if i%10 == 0 {
			v[i%dims] = 0.99
		}
		m.append(VectorEntry{ID: fmt.Sprintf("a%05d", i), Vec: v})
	}
	for i := 0; i < rows; i += 7 {
		m.kill(i)
	}
	check("appended and tombstoned")
	for i := range rows / 8 { // enough to rebuild q8
		m.append(VectorEntry{ID: fmt.Sprintf("b%05d", i), Vec: vec(1)})
	}
	check("re-quantised")
}
