package ann

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Options tune the graph. Zero values take the defaults.
type Options struct {
	// M is the number of neighbours kept per node on the upper layers
	// (2·M on layer 0). Default 16.
	M int
	// EfConstruction is the candidate list size while inserting. Default 100.
	EfConstruction int
	// EfSearch is the default candidate list size of a search (raised to k
	// when smaller). Default 64.
	EfSearch int
	// Seed makes the level draw reproducible (tests); 0 draws one.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.M <= 0 {
		o.M = 16
	}
	if o.EfConstruction <= 0 {
		o.EfConstruction = 100
	}
	if o.EfSearch <= 0 {
		o.EfSearch = 64
	}
	return o
}

// pageRows is how many vectors one storage page holds: storage grows by
// whole pages, so appending never moves (or copies) what is stored.
const pageRows = 1024

// Index is an HNSW graph over unit vectors; similarity is the dot product
// (cosine). It grows: Add appends vectors, which are searchable at once
// (scanned exactly until linked), and Link inserts them into the live
// graph with several goroutines; Delete tombstones a vector. Search, Add,
// Delete and Link are safe for concurrent use.
type Index struct {
	opt  Options
	dims int

	// mu guards the storage headers (pages, nodes, n) and the entry point.
	// Pages and nodes never move once allocated, so a search copies the
	// headers under a read lock and reads without it.
	mu    sync.RWMutex
	pages [][]float32 // pageRows·dims floats each, row-major
	nodes []*node
	n     int
	entry int
	top   int // layer of entry
	rng   *rand.Rand

	linkMu  sync.Mutex   // one Link at a time
	linked  atomic.Int64 // nodes below this are in the graph
	deleted atomic.Int64
	pool    sync.Pool
}

// node is one vector's place in the graph. links[l] is replaced or grown
// only under mu; readers copy it under mu.
type node struct {
	mu    sync.Mutex
	links [][]uint32 // layer → neighbours
	dead  atomic.Bool
}

// Result is one neighbour: its id (position in the order of Add) and its
// similarity.
type Result struct {
	Index int
	Score float32
}

// New returns an empty index of dims-dimensional vectors.
func New(dims int, opt Options) *Index {
	opt = opt.withDefaults()
	seed := opt.Seed
	if seed == 0 {
		seed = rand.Uint64() //nolint:gosec // G404: level draws need spread, not secrecy (the inputs are the tenant's own vectors)
	}
	ix := &Index{opt: opt, dims: max(dims, 1), entry: -1,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} //nolint:gosec // G404: as above
	ix.pool.New = func() any { return &scratch{} }
	return ix
}

// Build adds every vector of vecs (n·dims floats, row-major, each of unit
// length) and links them with one goroutine per core.
func Build(vecs []float32, dims int, opt Options) *Index {
	ix := New(dims, opt)
	ix.Add(vecs)
	ix.Link(runtime.GOMAXPROCS(0))
	return ix
}

// Add copies vecs (whole rows of unit length) into the index and returns
// the id of the first. They are found by Search at once (by an exact scan
// of the vectors not yet linked) and join the graph on the next Link.
func (ix *Index) Add(vecs []float32) int {
	rows := len(vecs) / ix.dims
	ml := 1 / math.Log(float64(ix.opt.M))
	ix.mu.Lock()
	defer ix.mu.Unlock()
	first := ix.n
	for r := range rows {
		i := ix.n
		if i/pageRows == len(ix.pages) {
			ix.pages = append(ix.pages, make([]float32, pageRows*ix.dims))
		}
		p := ix.pages[i/pageRows]
		copy(p[(i%pageRows)*ix.dims:(i%pageRows+1)*ix.dims], vecs[r*ix.dims:(r+1)*ix.dims])
		level := min(int(-math.Log(1-ix.rng.Float64())*ml), 32)
		nd := &node{links: make([][]uint32, level+1)}
		ix.nodes = append(ix.nodes, nd)
		ix.n++
	}
	return first
}

// Len is the number of vectors added, deleted ones included.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n
}

// Dims is the vectors' length.
func (ix *Index) Dims() int { return ix.dims }

// Linked is the number of vectors in the graph (the rest are scanned).
func (ix *Index) Linked() int { return int(ix.linked.Load()) }

// Deleted is the number of tombstoned vectors.
func (ix *Index) Deleted() int { return int(ix.deleted.Load()) }

// Delete tombstones vector id: it stays in the graph as a waypoint but is
// never returned. The owner rebuilds when too many are dead.
func (ix *Index) Delete(id int) {
	ix.mu.RLock()
	ok := id >= 0 && id < ix.n
	var nd *node
	if ok {
		nd = ix.nodes[id]
	}
	ix.mu.RUnlock()
	if ok && nd.dead.CompareAndSwap(false, true) {
		ix.deleted.Add(1)
	}
}

// view is a search's copy of the storage headers.
type view struct {
	ix    *Index
	pages [][]float32
	nodes []*node
	n     int
	dims  int
	entry int // entry point and its layer when the view was taken
	top   int
}

func (ix *Index) view() view {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return view{ix: ix, pages: ix.pages, nodes: ix.nodes, n: ix.n, dims: ix.dims, entry: ix.entry, top: ix.top}
}

func (v *view) vec(i int) []float32 {
	p := v.pages[i/pageRows]
	o := (i % pageRows) * v.dims
	return p[o : o+v.dims : o+v.dims]
}

// links copies node i's layer-l neighbours into buf.
func (v *view) links(i, l int, buf []uint32) []uint32 {
	nd := v.nodes[i]
	nd.mu.Lock()
	if l < len(nd.links) {
		buf = append(buf[:0], nd.links[l]...)
	} else {
		buf = buf[:0]
	}
	nd.mu.Unlock()
	return buf
}

// Link inserts every added vector that is not yet in the graph, with
// workers goroutines; it returns when they are all linked. Searches keep
// running meanwhile (the vectors being linked are still scanned exactly).
func (ix *Index) Link(workers int) {
	ix.linkMu.Lock()
	defer ix.linkMu.Unlock()
	v := ix.view()
	from := int(ix.linked.Load())
	if from >= v.n {
		return
	}
	if v.entry < 0 { // the first node is the entry: alone
		ix.insert(&v, from, ix.getScratch())
		from++
	}
	next := atomic.Int64{}
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range max(1, min(workers, v.n-from)) {
		wg.Go(func() {
			s := ix.getScratch()
			defer ix.pool.Put(s)
			for {
				i := int(next.Add(1) - 1)
				if i >= v.n {
					return
				}
				ix.insert(&v, i, s)
			}
		})
	}
	wg.Wait()
	ix.linked.Store(int64(v.n))
}

// dotGo is the portable dot product, unrolled into eight independent sums
// (dot uses assembly where the CPU allows; see dot_amd64.go).
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

func (ix *Index) maxLinks(layer int) int {
	if layer == 0 {
		return 2 * ix.opt.M
	}
	return ix.opt.M
}

// insert links node i (algorithm 1 of the paper). Only its own lists and
// those of its new neighbours are written, each under its node's lock, so
// inserts run in parallel.
func (ix *Index) insert(v *view, i int, s *scratch) {
	nd := v.nodes[i]
	level := len(nd.links) - 1
	ix.mu.Lock()
	if ix.entry < 0 {
		ix.entry, ix.top = i, level
		ix.mu.Unlock()
		return
	}
	entry, top := ix.entry, ix.top
	ix.mu.Unlock()
	q := v.vec(i)
	ep := cand{entry, dot(q, v.vec(entry))}
	for l := top; l > level; l-- {
		ep = ix.greedy(v, q, ep, l, s)
	}
	eps := append(s.eps[:0], ep)
	for l := min(level, top); l >= 0; l-- {
		found := ix.searchLayer(v, q, eps, ix.opt.EfConstruction, l, false, s)
		nb := ix.selectNeighbors(v, found, ix.opt.M, s)
		own := make([]uint32, 0, ix.maxLinks(l))
		for _, c := range nb {
			own = append(own, uint32(c.id)) //nolint:gosec // G115: ids < n
		}
		// nb aliases scratch that connect reuses, and own is pruned in
		// place by other inserts once published: connect from a copy
		s.ids = append(s.ids[:0], own...)
		nd.mu.Lock()
		nd.links[l] = own
		nd.mu.Unlock()
		for _, x := range s.ids {
			ix.connect(v, int(x), i, l, s)
		}
		eps = append(s.eps[:0], found...)
		s.eps = eps
	}
	if level > top {
		ix.mu.Lock()
		if level > ix.top {
			ix.entry, ix.top = i, level
		}
		ix.mu.Unlock()
	}
}

// connect adds a back link from node a to b on layer l, pruning a's list
// with the same heuristic when it overflows.
func (ix *Index) connect(v *view, a, b, l int, s *scratch) {
	nd := v.nodes[a]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if l >= len(nd.links) {
		return
	}
	links := nd.links[l]
	if len(links) < ix.maxLinks(l) {
		// append may write in place: readers copy under this lock
		nd.links[l] = append(links, uint32(b)) //nolint:gosec // G115: ids < n
		return
	}
	va := v.vec(a)
	cs := s.conn[:0]
	for _, x := range links {
		cs = append(cs, cand{int(x), dot(va, v.vec(int(x)))})
	}
	cs = append(cs, cand{b, dot(va, v.vec(b))})
	s.conn = cs
	sortDesc(cs)
	keep := ix.selectNeighbors(v, cs, ix.maxLinks(l), s)
	out := links[:0]
	for _, c := range keep {
		out = append(out, uint32(c.id)) //nolint:gosec // G115: ids < n
	}
	nd.links[l] = out
}

// selectNeighbors is the paper's heuristic (algorithm 4): walking the
// candidates from the most similar, keep one only if it is closer to the
// query than to every neighbour kept so far, so links spread over
// directions instead of crowding one cluster; fill up with the rest.
// cs must be sorted by descending score. The result aliases scratch.
func (ix *Index) selectNeighbors(v *view, cs []cand, m int, s *scratch) []cand {
	if len(cs) <= m {
		return cs
	}
	kept := s.kept[:0]
	skipped := s.skipped[:0]
	for _, c := range cs {
		if len(kept) == m {
			break
		}
		vc := v.vec(c.id)
		good := true
		for _, k := range kept {
			if dot(vc, v.vec(k.id)) > c.score {
				good = false
				break
			}
		}
		if good {
			kept = append(kept, c)
		} else {
			skipped = append(skipped, c)
		}
	}
	for _, c := range skipped {
		if len(kept) == m {
			break
		}
		kept = append(kept, c)
	}
	s.kept, s.skipped = kept, skipped
	return kept
}

// greedy walks layer l towards q from ep, one best step at a time.
func (ix *Index) greedy(v *view, q []float32, ep cand, l int, s *scratch) cand {
	for changed := true; changed; {
		changed = false
		s.buf = v.links(ep.id, l, s.buf)
		for _, x := range s.buf {
			if int(x) >= v.n {
				continue
			}
			if sc := dot(q, v.vec(int(x))); sc > ep.score {
				ep, changed = cand{int(x), sc}, true
			}
		}
	}
	return ep
}

// searchLayer is the beam search of layer l (algorithm 2): it returns up
// to ef nearest candidates, sorted by descending score. With live, only
// nodes that are not deleted enter the results (deleted ones are still
// walked through). The result aliases scratch.
func (ix *Index) searchLayer(v *view, q []float32, eps []cand, ef, l int, live bool, s *scratch) []cand {
	s.visit(v.n)
	frontier := s.frontier[:0] // best first (scores negated)
	results := s.results[:0]   // worst first
	for _, e := range eps {
		if s.seen(e.id) {
			continue
		}
		frontier.push(cand{e.id, -e.score})
		if !live || !v.nodes[e.id].dead.Load() {
			results.push(e)
			if len(results) > ef {
				results.pop()
			}
		}
	}
	for len(frontier) > 0 {
		c := frontier.pop()
		c.score = -c.score
		if len(results) >= ef && c.score < results[0].score {
			break
		}
		s.buf = v.links(c.id, l, s.buf)
		for _, x := range s.buf {
			id := int(x)
			if id >= v.n || s.seen(id) {
				continue
			}
			sc := dot(q, v.vec(id))
			if len(results) < ef || sc > results[0].score {
				frontier.push(cand{id, -sc})
				if live && v.nodes[id].dead.Load() {
					continue
				}
				results.push(cand{id, sc})
				if len(results) > ef {
					results.pop()
				}
			}
		}
	}
	s.frontier = frontier
	out := s.found
	if cap(out) < len(results) {
		out = make([]cand, len(results), 2*len(results))
	}
	out = out[:len(results)]
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = results.pop()
	}
	s.results, s.found = results, out
	return out
}

// Search returns about the k most similar live vectors to q (unit
// length), best first; ef ≤ 0 takes Options.EfSearch. Larger ef: better
// recall, slower. Vectors added but not yet linked are scored exactly.
func (ix *Index) Search(q []float32, k, ef int) []Result {
	if k <= 0 || len(q) != ix.dims {
		return nil
	}
	if ef <= 0 {
		ef = ix.opt.EfSearch
	}
	ef = max(ef, k)
	v := ix.view()
	linked := min(int(ix.linked.Load()), v.n)
	s := ix.getScratch()
	defer ix.pool.Put(s)
	var found []cand
	if v.entry >= 0 {
		ep := cand{v.entry, dot(q, v.vec(v.entry))}
		for l := v.top; l > 0; l-- {
			ep = ix.greedy(&v, q, ep, l, s)
		}
		found = ix.searchLayer(&v, q, []cand{ep}, ef, 0, true, s)
	} else {
		s.visit(v.n)
	}
	// The tail not yet linked (or being linked): exact, merged by id (a
	// node the graph walk already scored is not scored twice).
	if linked < v.n {
		h := s.results[:0]
		for _, c := range found {
			h.push(c)
		}
		for id := linked; id < v.n; id++ {
			if v.nodes[id].dead.Load() || s.seen(id) {
				continue
			}
			sc := dot(q, v.vec(id))
			if len(h) < k {
				h.push(cand{id, sc})
			} else if sc > h[0].score {
				h.pop()
				h.push(cand{id, sc})
			}
		}
		for len(h) > k {
			h.pop()
		}
		found = make([]cand, len(h))
		for i := len(found) - 1; i >= 0; i-- {
			found[i] = h.pop()
		}
		s.results = h
	}
	out := make([]Result, 0, min(k, len(found)))
	for _, c := range found[:min(k, len(found))] {
		out = append(out, Result{c.id, c.score})
	}
	return out
}

type cand struct {
	id    int
	score float32
}

func sortDesc(cs []cand) {
	// insertion sort: lists are ≤ 2M+1 long
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].score > cs[j-1].score; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// scratch is one goroutine's reusable search state: the visited marks
// (a generation number per node, so a reset is O(1); wrapping every 2³²
// searches clears them) and the heaps and buffers of a search.
type scratch struct {
	marks             []uint32
	gen               uint32
	frontier, results candHeap
	found, eps, conn  []cand
	kept, skipped     []cand
	buf, ids          []uint32
}

func (ix *Index) getScratch() *scratch {
	s, _ := ix.pool.Get().(*scratch)
	return s
}

// visit starts a new generation over n nodes.
func (s *scratch) visit(n int) {
	if len(s.marks) < n {
		s.marks = append(s.marks, make([]uint32, n-len(s.marks)+n/4)...)
	}
	s.gen++
	if s.gen == 0 {
		clear(s.marks)
		s.gen = 1
	}
}

// seen marks id visited and reports whether it already was.
func (s *scratch) seen(id int) bool {
	if s.marks[id] == s.gen {
		return true
	}
	s.marks[id] = s.gen
	return false
}

// candHeap is a binary min-heap on score, typed (container/heap boxes
// every element in an interface: a third of the build time).
type candHeap []cand

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if a[p].score <= a[i].score {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *candHeap) pop() cand {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a[l].score < a[m].score {
			m = l
		}
		if r < n && a[r].score < a[m].score {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
