package index

import (
	"container/heap"
	"context"
	"math"
	"runtime"
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
// (never on disk) for cosine search. The first search of a collection
// loads it; writers then Add and Remove entries in place (Invalidate drops
// a collection, and the next search reloads it).
type Vectors struct {
	mu    sync.Mutex
	sets  map[string]*vset
	limit int // max cached collections
	// annFrom is the collection size from which an HNSW graph is built
	// (0: never); building holds one initial build at a time.
	annFrom  int
	building chan struct{}
}

// rebuildDead is the fraction of tombstoned vectors at which a collection
// is dropped from the cache, so the next search reloads only the live ones
// and builds a fresh graph (tombstones still cost walking time).
const rebuildDead = 0.25

type vset struct {
	once   sync.Once
	loaded atomic.Bool // once has finished
	err    error

	// mu guards m and pos: searches read, Add and Remove write.
	mu  sync.RWMutex
	m   *Matrix
	pos map[string]int // live id → row
	// graph is set when the initial HNSW build is done; from then on every
	// row of m is in it (Add appends to both; the graph links new rows in
	// the background and scans them exactly until then) and m keeps only
	// ids and tombstones, not a second copy of the vectors.
	graph atomic.Pointer[ann.Index]
	// started is set once a build of this set has begun; linking while a
	// background Link of new rows runs.
	started, linking atomic.Bool
}

// WithANN makes collections of at least threshold vectors searched
// through an HNSW graph (internal/ann), built in memory from the decrypted
// vectors in the background once a collection that large is loaded or
// grows that large; searches are exact until it is ready. threshold ≤ 0
// keeps every search exact.
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

// cached returns a collection's set if it is loaded without error; a set
// still loading is dropped instead (the load may or may not have seen the
// caller's write), so the next search reloads.
func (v *Vectors) cached(tenant, collection string) *vset {
	key := tenant + "\x00" + collection
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.sets[key]
	if s == nil {
		return nil
	}
	if !s.loaded.Load() || s.err != nil {
		delete(v.sets, key)
		return nil
	}
	return s
}

// Add puts committed entries into a cached collection; an id already
// there is replaced (a document processed again keeps its chunk ids).
// Uncached collections are loaded, entries included, by their next
// search. New vectors join the graph of a large collection without a
// rebuild.
func (v *Vectors) Add(tenant, collection string, entries []VectorEntry) {
	s := v.cached(tenant, collection)
	if s == nil || len(entries) == 0 {
		return
	}
	s.mu.Lock()
	if dims := s.m.Dims(); dims > 0 && len(entries[0].Vec) != dims {
		s.mu.Unlock()
		v.Invalidate(tenant, collection) // another model's vectors: reload
		return
	}
	g := s.graph.Load()
	var rows []float32
	for _, e := range entries {
		if row, ok := s.pos[e.ID]; ok {
			s.m.kill(row)
			if g != nil {
				g.Delete(row)
			}
		}
		s.pos[e.ID] = s.m.Len()
		s.m.append(e)
		if g != nil {
			rows = append(rows, unit(e.Vec, len(e.Vec))...)
		}
	}
	if len(rows) > 0 {
		g.Add(rows)
	}
	large := v.annFrom > 0 && s.m.Live() >= v.annFrom
	compact := s.m.Len()-s.m.Live() >= int(rebuildDead*float64(s.m.Len())) && s.m.Len() > s.m.Live()
	s.mu.Unlock()
	switch {
	case compact:
		v.drop(tenant, collection, s)
	case g != nil:
		s.linkLater(g)
	case large && !s.started.Load():
		v.buildGraph(s)
	}
}

// Remove tombstones entries of a cached collection. When a quarter of its
// rows are dead it is dropped, and the next search reloads the live ones.
func (v *Vectors) Remove(tenant, collection string, ids []string) {
	s := v.cached(tenant, collection)
	if s == nil {
		return
	}
	s.mu.Lock()
	g := s.graph.Load()
	for _, id := range ids {
		row, ok := s.pos[id]
		if !ok {
			continue
		}
		delete(s.pos, id)
		s.m.kill(row)
		if g != nil {
			g.Delete(row)
		}
	}
	compact := s.m.Len()-s.m.Live() >= int(rebuildDead*float64(s.m.Len())) && s.m.Len() > s.m.Live()
	s.mu.Unlock()
	if compact {
		v.drop(tenant, collection, s)
	}
}

// drop removes set s of a collection from the cache (not a newer one).
func (v *Vectors) drop(tenant, collection string, s *vset) {
	key := tenant + "\x00" + collection
	v.mu.Lock()
	if v.sets[key] == s {
		delete(v.sets, key)
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
		defer s.loaded.Store(true)
		var entries []VectorEntry
		entries, s.err = load(ctx, tenant, collection)
		if s.err == nil {
			s.m = NewMatrix(entries)
			s.pos = make(map[string]int, len(entries))
			for i, e := range entries {
				s.pos[e.ID] = i
			}
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	if g := s.graph.Load(); g != nil {
		return topKGraph(g, s.m.ids, q, k), nil
	}
	// Large and no build yet (or the builder was busy with another set
	// last time): try to start one; this search stays exact.
	if v.annFrom > 0 && s.m.Live() >= v.annFrom && !s.started.Load() {
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

// buildGraph builds the HNSW graph of one set unless another build is
// running (a later search or write tries again). The graph holds its own
// unit-length, row-major copy of the vectors, in memory only, copied from
// the matrix a page at a time; rows added meanwhile are caught up under
// the write lock when the graph is published, and the matrix then drops
// its copy.
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
	go func() {
		defer func() { <-v.building }()
		s.mu.RLock()
		dims, n := s.m.Dims(), s.m.Len()
		s.mu.RUnlock()
		g := ann.New(dims, ann.Options{})
		v.copyRows(s, g, 0, n, false)
		g.Link(runtime.GOMAXPROCS(0))
		s.mu.Lock()
		v.copyRows(s, g, n, s.m.Len(), true)
		for row, dead := range s.m.dead {
			if dead {
				g.Delete(row)
			}
		}
		s.graph.Store(g)
		s.m.dropVectors()
		s.mu.Unlock()
		s.linkLater(g)
	}()
}

// copyRows adds rows [from, to) of s.m to g, unit length, 1,024 at a
// time (locked: the caller holds s.mu).
func (v *Vectors) copyRows(s *vset, g *ann.Index, from, to int, locked bool) {
	const batch = 1024
	dims := g.Dims()
	buf := make([]float32, 0, batch*dims)
	for start := from; start < to; start += batch {
		buf = buf[:0]
		if !locked {
			s.mu.RLock()
		}
		for row := start; row < min(start+batch, to); row++ {
			buf = append(buf, unit(s.m.row(row), dims)...)
		}
		if !locked {
			s.mu.RUnlock()
		}
		g.Add(buf)
	}
}

// linkLater links a graph's new rows in the background, one Link at a
// time per set.
func (s *vset) linkLater(g *ann.Index) {
	if !s.linking.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			g.Link(runtime.GOMAXPROCS(0))
			s.linking.Store(false)
			// an Add after Link took its snapshot saw linking set: go on
			if g.Linked() >= g.Len() || !s.linking.CompareAndSwap(false, true) {
				return
			}
		}
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

// topKGraph searches the graph with a candidate list of max(64, 2k) and
// keeps positive scores, like Matrix.TopK. Graph ids are matrix rows.
func topKGraph(g *ann.Index, ids []string, q []float32, k int) []Hit {
	if k <= 0 {
		return nil
	}
	rs := g.Search(unit(q, g.Dims()), k, max(64, 2*k))
	out := make([]Hit, 0, len(rs))
	for _, r := range rs {
		if r.Score <= 1e-6 || r.Index >= len(ids) {
			continue
		}
		out = append(out, Hit{ids[r.Index], float64(r.Score)})
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
	cols [][]float32 // nil once a graph holds the vectors
	dims int
	dead []bool // tombstones, by row
	live int
	// q8 is cols quantised to int8 with one scale per column (value ≈
	// scale·q); qerr bounds |value − scale·q| per column, clamped values
	// of rows appended later included. TopK scans these first (a quarter
	// of the bytes) and computes exact scores only for the rows that can
	// still rank (quantisedTopK).
	q8    [][]int8
	scale []float32
	qerr  []float32
	// appended counts rows added since q8 was built: values past a
	// column's scale are clamped and widen its error bound, so q8 is
	// rebuilt once an eighth of the rows are newer than it.
	appended int
}

// NewMatrix lays entries out by dimension (all vectors have one length).
func NewMatrix(entries []VectorEntry) *Matrix {
	m := &Matrix{ids: make([]string, len(entries)), dead: make([]bool, len(entries)), live: len(entries)}
	if len(entries) == 0 {
		return m
	}
	dims := len(entries[0].Vec)
	m.dims = dims
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
	m.quantise()
	return m
}

// quantise builds q8 from cols.
func (m *Matrix) quantise() {
	n := len(m.ids)
	flat := make([]int8, m.dims*n)
	m.q8 = make([][]int8, m.dims)
	m.scale = make([]float32, m.dims)
	m.qerr = make([]float32, m.dims)
	m.appended = 0
	for d, col := range m.cols {
		var maxAbs float32
		for _, x := range col {
			maxAbs = max(maxAbs, float32(math.Abs(float64(x))))
		}
		m.scale[d] = maxAbs / 127
		m.q8[d] = flat[d*n : (d+1)*n : (d+1)*n]
		for i, x := range col {
			m.q8[d][i] = m.quant(d, x)
		}
	}
}

// quant quantises x for column d, widening the column's error bound by
// what that costs.
func (m *Matrix) quant(d int, x float32) int8 {
	var q float64
	if s := float64(m.scale[d]); s > 0 {
		q = max(-127, min(127, math.Round(float64(x)/s)))
	}
	m.qerr[d] = max(m.qerr[d], float32(math.Abs(float64(x)-q*float64(m.scale[d])))*(1+1e-6))
	return int8(q)
}

// Len is the number of rows, tombstoned ones included.
func (m *Matrix) Len() int { return len(m.ids) }

// Live is the number of rows not tombstoned.
func (m *Matrix) Live() int { return m.live }

// Dims is the vectors' length (0 while empty).
func (m *Matrix) Dims() int { return m.dims }

// append adds one row (its vector only while the matrix holds vectors).
func (m *Matrix) append(e VectorEntry) {
	if m.dims == 0 {
		m.dims = len(e.Vec)
		m.cols = make([][]float32, m.dims)
		m.quantise() // empty: scales 0, so every value counts in qerr
	}
	m.ids = append(m.ids, e.ID)
	m.dead = append(m.dead, false)
	m.live++
	if m.cols == nil {
		return
	}
	for d := range m.cols {
		var x float32
		if d < len(e.Vec) {
			x = e.Vec[d]
		}
		m.cols[d] = append(m.cols[d], x)
		if m.q8 != nil {
			m.q8[d] = append(m.q8[d], m.quant(d, x))
		}
	}
	if m.q8 != nil {
		if m.appended++; m.appended > len(m.ids)/8 && len(m.ids) >= quantisedFrom {
			m.quantise()
		}
	}
}

// kill tombstones a row.
func (m *Matrix) kill(row int) {
	if !m.dead[row] {
		m.dead[row] = true
		m.live--
	}
}

// row gathers one row's vector from the columns.
func (m *Matrix) row(i int) []float32 {
	out := make([]float32, len(m.cols))
	for d, col := range m.cols {
		out[d] = col[i]
	}
	return out
}

// dropVectors frees the columns once a graph holds the vectors.
func (m *Matrix) dropVectors() { m.cols, m.q8 = nil, nil }

// TopK ranks the vectors by dot product with q (cosine for unit vectors),
// keeping positive scores only.
func (m *Matrix) TopK(q []float32, k int) []Hit {
	if m.Len() == 0 || k <= 0 {
		return nil
	}
	if m.q8 != nil && quantised() && m.Len() >= quantisedFrom {
		return m.quantisedTopK(q, k)
	}
	scores := m.scores(q)
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

// scores is every row's dot product with q.
func (m *Matrix) scores(q []float32) []float32 {
	scores := make([]float32, m.Len())
	// Only the query's non-zero dimensions are read, four columns per pass
	// over the scores: a hash query (Version 2: its character n-grams)
	// has over a hundred, and one pass per column made the loads and
	// stores of the scores the bottleneck. The rows go in tiles small
	// enough for their scores to stay in the L1 cache while every column
	// group adds to them, so memory traffic is the columns alone; the sums
	// run 8 rows at a time (AVX2, axpy_amd64.s) in the same order as the
	// scalar loops, so the scores are exactly theirs.
	type group struct {
		n  int
		ws [4]float32
		cs [4][]float32
	}
	var groups []group
	var g group
	for d, w := range q {
		if w == 0 || d >= len(m.cols) {
			continue
		}
		g.ws[g.n], g.cs[g.n] = w, m.cols[d]
		if g.n++; g.n == 4 {
			groups = append(groups, g)
			g = group{}
		}
	}
	if g.n > 0 {
		groups = append(groups, g)
	}
	for lo := 0; lo < len(scores); lo += scoreTile {
		hi := min(lo+scoreTile, len(scores))
		dst := scores[lo:hi]
		for i := range groups {
			g := &groups[i]
			if g.n == 4 {
				cs := [4][]float32{g.cs[0][lo:hi], g.cs[1][lo:hi], g.cs[2][lo:hi], g.cs[3][lo:hi]}
				axpy4(dst, &g.ws, &cs)
				continue
			}
			for j := range g.n {
				axpy1(dst, g.ws[j], g.cs[j][lo:hi])
			}
		}
	}
	return scores
}

// quantisedFrom is the number of rows from which TopK prefilters with the
// int8 columns (smaller matrices fit the caches: the exact pass is cheap).
const quantisedFrom = 4096

// quantisedTopK is TopK with an int8 prefilter: approximate scores from
// the quantised columns (a quarter of the memory traffic of the exact
// pass, which memory bandwidth bounded), a bound e on their error (the
// query's |w| times each column's quantisation error, plus float32
// rounding), then exact scores, computed like scores computes them, only
// for the rows whose approximate score is within 2e of the k-th best.
// No other row can rank: k rows score at least that k-th best − e, and
// every other row less. The exact pass runs over those rows in row order,
// so the result — ties included — is exactly TopK's.
func (m *Matrix) quantisedTopK(q []float32, k int) []Hit {
	groups, bound := m.quantGroups(q)
	approx := m.approxScores(groups)
	cut := m.approxCut(approx, bound, k)
	h := &minHeap{}
	for i, a := range approx {
		if a < cut || m.dead[i] {
			continue
		}
		// exactly scores' sum for row i
		var sc float32
		for gi := range groups {
			g := &groups[gi]
			if g.n == 4 {
				sc += float32(float32(float32(g.ws[0]*g.cs[0][i])+float32(g.ws[1]*g.cs[1][i]))+float32(g.ws[2]*g.cs[2][i])) + float32(g.ws[3]*g.cs[3][i])
				continue
			}
			for j := range g.n {
				sc += float32(g.ws[j] * g.cs[j][i])
			}
		}
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

// quantGroup is up to four of the query's non-zero dimensions, scored
// together (axpy4I8 for the approximate pass, four terms per row for the
// exact one).
type quantGroup struct {
	n  int
	ws [4]float32 // exact weights
	qs [4]float32 // weights times the column scale
	cs [4][]float32
	c8 [4][]int8
}

// quantGroups groups q's non-zero dimensions by four and returns the bound
// on the approximate scores' error: each column's quantisation error times
// |w|, plus the float32 rounding of the sums.
func (m *Matrix) quantGroups(q []float32) ([]quantGroup, float64) {
	var groups []quantGroup
	var g quantGroup
	var bound, mag float64
	for d, w := range q {
		if w == 0 || d >= len(m.cols) {
			continue
		}
		g.ws[g.n], g.qs[g.n], g.cs[g.n], g.c8[g.n] = w, w*m.scale[d], m.cols[d], m.q8[d]
		aw := math.Abs(float64(w))
		bound += aw * float64(m.qerr[d])
		mag += aw * (127*float64(m.scale[d]) + float64(m.qerr[d]))
		if g.n++; g.n == 4 {
			groups = append(groups, g)
			g = quantGroup{}
		}
	}
	if g.n > 0 {
		groups = append(groups, g)
	}
	// float32 rounding of the approximate sums (each term and partial sum
	// is within mag), generously
	bound += mag * float64(4*(len(groups)+4)) * 0x1p-23
	return groups, bound
}

// approxScores are every row's approximate score from the int8 columns,
// tile by tile.
func (m *Matrix) approxScores(groups []quantGroup) []float32 {
	approx := make([]float32, m.Len())
	for lo := 0; lo < len(approx); lo += scoreTile {
		hi := min(lo+scoreTile, len(approx))
		dst := approx[lo:hi]
		for i := range groups {
			g := &groups[i]
			ws := g.qs
			var cs [4][]int8
			for j := range 4 {
				if j < g.n {
					cs[j] = g.c8[j][lo:hi]
				} else {
					ws[j], cs[j] = 0, g.c8[0][lo:hi] // padding: weight 0
				}
			}
			axpy4I8(dst, &ws, &cs)
		}
	}
	return approx
}

// approxCut is the approximate score below which no row can rank: the
// k-th best approximate score among the rows that may be positive, less
// twice the error bound.
func (m *Matrix) approxCut(approx []float32, bound float64, k int) float32 {
	floor := float32(1e-6 - bound)
	top := make(float32Heap, 0, k)
	for i, a := range approx {
		if a <= floor || m.dead[i] {
			continue
		}
		if len(top) < k {
			heap.Push(&top, a)
		} else if a > top[0] {
			top[0] = a
			heap.Fix(&top, 0)
		}
	}
	if len(top) == k {
		return max(floor, float32(float64(top[0])-2*bound))
	}
	return floor
}

type float32Heap []float32

func (h float32Heap) Len() int           { return len(h) }
func (h float32Heap) Less(i, j int) bool { return h[i] < h[j] }
func (h float32Heap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *float32Heap) Push(x any)        { f, _ := x.(float32); *h = append(*h, f) }
func (h *float32Heap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// scoreTile is how many rows' scores a pass over the column groups
// updates (16 KiB of scores: they stay in the L1 data cache).
const scoreTile = 4096

// axpy4Go is dst[i] += ((w0*c0[i] + w1*c1[i]) + w2*c2[i]) + w3*c3[i]:
// the reference for the AVX2 kernel (and what other CPUs run). The
// explicit conversions keep the compiler from fusing multiply-adds, which
// would round differently.
func axpy4Go(dst []float32, w *[4]float32, c0, c1, c2, c3 []float32) {
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	c0, c1, c2, c3 = c0[:len(dst)], c1[:len(dst)], c2[:len(dst)], c3[:len(dst)]
	for i := range dst {
		s := float32(float32(float32(w0*c0[i])+float32(w1*c1[i]))+float32(w2*c2[i])) + float32(w3*c3[i])
		dst[i] += s
	}
}

// axpy1Go is dst[i] += w*c[i].
func axpy1Go(dst []float32, w float32, c []float32) {
	c = c[:len(dst)]
	for i := range dst {
		dst[i] += float32(w * c[i])
	}
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
