package index

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/rampart-platform/rampart/services/ingestion/internal/ann"
)

// VectorEntry is one chunk's vector.
type VectorEntry struct {
	ID  string
	Vec []float32
}

// Loader reads a collection's vectors (decrypting them) when they are not
// in memory.
type Loader func(ctx context.Context, tenant, collection string) ([]VectorEntry, error)

// Vectors caches decrypted vectors per tenant and collection in memory
// (never on disk) for brute-force cosine search. Writers Invalidate; the
// next search reloads.
type Vectors struct {
	mu    sync.Mutex
	sets  map[string]*vset
	limit int // max cached collections
	// annFrom is the collection size from which an HNSW graph is built
	// (0: never); building holds one build at a time.
	annFrom  int
	building chan struct{}
}

type vset struct {
	once sync.Once
	m    *Matrix
	err  error
	// graph is set when the background HNSW build is done; until then
	// (and when the collection is small) search is exact.
	graph atomic.Pointer[annGraph]
	// started is set once a build of this set has begun.
	started atomic.Bool
}

type annGraph struct {
	ix  *ann.Index
	ids []string
}

// WithANN makes collections of at least threshold vectors searched
// through an HNSW graph (internal/ann), built in memory from the decrypted
// vectors in the background after the first search loads them; searches
// are exact until it is ready. threshold ≤ 0 keeps every search exact.
func (v *Vectors) WithANN(threshold int) *Vectors {
	v.annFrom = threshold
	v.building = make(chan struct{}, 1)
	return v
}

// NewVectors caches up to maxSets collections (default 256).
func NewVectors(maxSets int) *Vectors {
	if maxSets <= 0 {
		maxSets = 256
	}
	return &Vectors{sets: map[string]*vset{}, limit: maxSets}
}

// Invalidate drops a collection's cached vectors.
func (v *Vectors) Invalidate(tenant, collection string) {
	v.mu.Lock()
	delete(v.sets, tenant+"\x00"+collection)
	v.mu.Unlock()
}

// InvalidateTenant drops all of a tenant's cached vectors.
func (v *Vectors) InvalidateTenant(tenant string) {
	v.mu.Lock()
	for k := range v.sets {
		if len(k) > len(tenant) && k[:len(tenant)+1] == tenant+"\x00" {
			delete(v.sets, k)
		}
	}
	v.mu.Unlock()
}

// Search returns the k entries with the highest cosine similarity to q.
func (v *Vectors) Search(ctx context.Context, tenant, collection string, q []float32, k int, load Loader) ([]Hit, error) {
	key := tenant + "\x00" + collection
	v.mu.Lock()
	s, ok := v.sets[key]
	if !ok {
		if len(v.sets) >= v.limit {
			clear(v.sets)
		}
		s = &vset{}
		v.sets[key] = s
	}
	v.mu.Unlock()
	s.once.Do(func() {
		var entries []VectorEntry
		entries, s.err = load(ctx, tenant, collection)
		if s.err == nil {
			s.m = NewMatrix(entries)
		}
	})
	if s.err != nil {
		v.mu.Lock()
		if v.sets[key] == s {
			delete(v.sets, key)
		}
		v.mu.Unlock()
		return nil, s.err
	}
	if g := s.graph.Load(); g != nil {
		return g.topK(q, k), nil
	}
	// Large and no build yet (or the builder was busy with another set
	// last time): try to start one; this search stays exact.
	if v.annFrom > 0 && s.m.Len() >= v.annFrom && !s.started.Load() {
		v.buildGraph(s)
	}
	return s.m.TopK(q, k), nil
}

// UsesANN reports whether a collection's searches go through its graph.
func (v *Vectors) UsesANN(tenant, collection string) bool {
	v.mu.Lock()
	s := v.sets[tenant+"\x00"+collection]
	v.mu.Unlock()
	return s != nil && s.graph.Load() != nil
}

// buildGraph starts the HNSW build of one set unless another build is
// running (a later search tries again). The graph holds its own
// unit-length, row-major copy of the vectors, in memory only.
func (v *Vectors) buildGraph(s *vset) {
	select {
	case v.building <- struct{}{}:
	default:
		return
	}
	if !s.started.CompareAndSwap(false, true) {
		<-v.building
		return
	}
	m := s.m
	dims := len(m.cols)
	flat := make([]float32, m.Len()*dims)
	for d, col := range m.cols {
		for i, x := range col {
			flat[i*dims+d] = x
		}
	}
	for i := range m.Len() {
		copy(flat[i*dims:(i+1)*dims], unit(flat[i*dims:(i+1)*dims], dims))
	}
	go func() {
		defer func() { <-v.building }()
		s.graph.Store(&annGraph{ix: ann.Build(flat, dims, ann.Options{}), ids: m.ids})
	}()
}

// unit returns v scaled to length 1 (and padded or cut to dims).
func unit(v []float32, dims int) []float32 {
	out := make([]float32, dims)
	copy(out, v)
	var n float64
	for _, x := range out {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range out {
			out[i] *= inv
		}
	}
	return out
}

// topK searches the graph with a candidate list of max(64, 2k) and keeps
// positive scores, like Matrix.TopK.
func (g *annGraph) topK(q []float32, k int) []Hit {
	if k <= 0 {
		return nil
	}
	rs := g.ix.Search(unit(q, len(q)), k, max(64, 2*k))
	out := make([]Hit, 0, len(rs))
	for _, r := range rs {
		if r.Score <= 1e-6 {
			continue
		}
		out = append(out, Hit{g.ids[r.Index], float64(r.Score)})
	}
	return out
}

// Matrix holds vectors dimension-major: column d is every vector's d-th
// component, contiguous. Hash-embedded queries are sparse (a short query
// sets a few dozen of the dimensions), so scoring reads only the query's
// non-zero columns, sequentially: exact cosine at a fraction of the memory
// traffic of a row-by-row scan.
type Matrix struct {
	ids  []string
	cols [][]float32
}

// NewMatrix lays entries out by dimension (all vectors have one length).
func NewMatrix(entries []VectorEntry) *Matrix {
	m := &Matrix{ids: make([]string, len(entries))}
	if len(entries) == 0 {
		return m
	}
	dims := len(entries[0].Vec)
	flat := make([]float32, dims*len(entries))
	m.cols = make([][]float32, dims)
	for d := range dims {
		m.cols[d] = flat[d*len(entries) : (d+1)*len(entries) : (d+1)*len(entries)]
	}
	for i, e := range entries {
		m.ids[i] = e.ID
		for d := 0; d < dims && d < len(e.Vec); d++ {
			m.cols[d][i] = e.Vec[d]
		}
	}
	return m
}

// Len is the number of vectors.
func (m *Matrix) Len() int { return len(m.ids) }

// TopK ranks the vectors by dot product with q (cosine for unit vectors),
// keeping positive scores only.
func (m *Matrix) TopK(q []float32, k int) []Hit {
	if m.Len() == 0 || k <= 0 {
		return nil
	}
	scores := make([]float32, m.Len())
	for d, w := range q {
		if w == 0 || d >= len(m.cols) {
			continue
		}
		col := m.cols[d]
		for i := range scores {
			scores[i] += w * col[i]
		}
	}
	h := &minHeap{}
	for i, sc := range scores {
		s := float64(sc)
		if s <= 1e-6 {
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

type minHeap []Hit

func (h minHeap) Len() int { return len(h) }
func (h minHeap) Less(i, j int) bool {
	if h[i].Score != h[j].Score {
		return h[i].Score < h[j].Score
	}
	return h[i].ID > h[j].ID
}
func (h minHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)   { hit, _ := x.(Hit); *h = append(*h, hit) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
