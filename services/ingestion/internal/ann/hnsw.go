package ann

import (
	"math"
	"math/rand/v2"
	"sync"
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

// Index is an HNSW graph over unit vectors; similarity is the dot product
// (cosine). It is built once and then only read: Search is safe for
// concurrent use.
type Index struct {
	opt   Options
	dims  int
	vecs  []float32    // n·dims, row-major
	links [][][]uint32 // node → layer → neighbours
	entry int
	top   int // layer of entry
	pool  sync.Pool
}

// Result is one neighbour: its position in the input and its similarity.
type Result struct {
	Index int
	Score float32
}

// Build inserts every vector of vecs (n·dims floats, row-major, each of
// unit length) in order. It copies nothing: vecs must not change after.
func Build(vecs []float32, dims int, opt Options) *Index {
	opt = opt.withDefaults()
	n := 0
	if dims > 0 {
		n = len(vecs) / dims
	}
	seed := opt.Seed
	if seed == 0 {
		seed = rand.Uint64() //nolint:gosec // G404: level draws need spread, not secrecy (the inputs are the tenant's own vectors)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // G404: as above
	ix := &Index{opt: opt, dims: dims, vecs: vecs[:n*dims], links: make([][][]uint32, n), entry: -1}
	ix.pool.New = func() any { return &visited{marks: make([]uint32, n)} }
	ml := 1 / math.Log(float64(opt.M))
	for i := range n {
		level := int(-math.Log(1-rng.Float64()) * ml)
		ix.insert(i, min(level, 32))
	}
	return ix
}

// Len is the number of vectors in the graph.
func (ix *Index) Len() int { return len(ix.links) }

func (ix *Index) vec(i int) []float32 { return ix.vecs[i*ix.dims : (i+1)*ix.dims : (i+1)*ix.dims] }

// dot is an unrolled dot product (the build's and the search's hot loop).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

func (ix *Index) maxLinks(layer int) int {
	if layer == 0 {
		return 2 * ix.opt.M
	}
	return ix.opt.M
}

func (ix *Index) insert(i, level int) {
	ix.links[i] = make([][]uint32, level+1)
	if ix.entry < 0 {
		ix.entry, ix.top = i, level
		return
	}
	q := ix.vec(i)
	ep := cand{ix.entry, dot(q, ix.vec(ix.entry))}
	for l := ix.top; l > level; l-- {
		ep = ix.greedy(q, ep, l)
	}
	eps := []cand{ep}
	for l := min(level, ix.top); l >= 0; l-- {
		found := ix.searchLayer(q, eps, ix.opt.EfConstruction, l)
		nb := ix.selectNeighbors(found, ix.opt.M)
		ix.links[i][l] = make([]uint32, 0, ix.maxLinks(l))
		for _, c := range nb {
			ix.links[i][l] = append(ix.links[i][l], uint32(c.id)) //nolint:gosec // G115: ids < len(links)
			ix.connect(c.id, i, l)
		}
		eps = found
	}
	if level > ix.top {
		ix.entry, ix.top = i, level
	}
}

// connect adds a back link from node a to b on layer l, pruning a's list
// with the same heuristic when it overflows.
func (ix *Index) connect(a, b, l int) {
	links := ix.links[a][l]
	if len(links) < ix.maxLinks(l) {
		ix.links[a][l] = append(links, uint32(b)) //nolint:gosec // G115: ids < len(links)
		return
	}
	va := ix.vec(a)
	cs := make([]cand, 0, len(links)+1)
	for _, x := range links {
		cs = append(cs, cand{int(x), dot(va, ix.vec(int(x)))})
	}
	cs = append(cs, cand{b, dot(va, ix.vec(b))})
	sortDesc(cs)
	keep := ix.selectNeighbors(cs, ix.maxLinks(l))
	out := links[:0]
	for _, c := range keep {
		out = append(out, uint32(c.id)) //nolint:gosec // G115: ids < len(links)
	}
	ix.links[a][l] = out
}

// selectNeighbors is the paper's heuristic (algorithm 4): walking the
// candidates from the most similar, keep one only if it is closer to the
// query than to every neighbour kept so far, so links spread over
// directions instead of crowding one cluster; fill up with the rest.
// cs must be sorted by descending score.
func (ix *Index) selectNeighbors(cs []cand, m int) []cand {
	if len(cs) <= m {
		return cs
	}
	kept := make([]cand, 0, m)
	var skipped []cand
	for _, c := range cs {
		if len(kept) == m {
			break
		}
		vc := ix.vec(c.id)
		good := true
		for _, k := range kept {
			if dot(vc, ix.vec(k.id)) > c.score {
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
	return kept
}

// greedy walks layer l towards q from ep, one best step at a time.
func (ix *Index) greedy(q []float32, ep cand, l int) cand {
	for changed := true; changed; {
		changed = false
		for _, x := range ix.links[ep.id][l] {
			if s := dot(q, ix.vec(int(x))); s > ep.score {
				ep, changed = cand{int(x), s}, true
			}
		}
	}
	return ep
}

// searchLayer is the beam search of layer l (algorithm 2): it returns up
// to ef nearest candidates, sorted by descending score.
func (ix *Index) searchLayer(q []float32, eps []cand, ef, l int) []cand {
	v, _ := ix.pool.Get().(*visited)
	v.next()
	defer ix.pool.Put(v)
	frontier := make(candHeap, 0, 2*ef) // best first (scores negated)
	results := make(candHeap, 0, ef+1)  // worst first
	for _, e := range eps {
		v.marks[e.id] = v.gen
		frontier.push(cand{e.id, -e.score})
		results.push(e)
		if len(results) > ef {
			results.pop()
		}
	}
	for len(frontier) > 0 {
		c := frontier.pop()
		c.score = -c.score
		if len(results) >= ef && c.score < results[0].score {
			break
		}
		for _, x := range ix.links[c.id][l] {
			id := int(x)
			if v.marks[id] == v.gen {
				continue
			}
			v.marks[id] = v.gen
			s := dot(q, ix.vec(id))
			if len(results) < ef || s > results[0].score {
				frontier.push(cand{id, -s})
				results.push(cand{id, s})
				if len(results) > ef {
					results.pop()
				}
			}
		}
	}
	out := make([]cand, len(results))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = results.pop()
	}
	return out
}

// Search returns about the k most similar vectors to q (unit length), best
// first; ef ≤ 0 takes Options.EfSearch. Larger ef: better recall, slower.
func (ix *Index) Search(q []float32, k, ef int) []Result {
	if ix.entry < 0 || k <= 0 || len(q) != ix.dims {
		return nil
	}
	if ef <= 0 {
		ef = ix.opt.EfSearch
	}
	ef = max(ef, k)
	ep := cand{ix.entry, dot(q, ix.vec(ix.entry))}
	for l := ix.top; l > 0; l-- {
		ep = ix.greedy(q, ep, l)
	}
	found := ix.searchLayer(q, []cand{ep}, ef, 0)
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

// visited marks nodes seen in one search with a generation number, so the
// array is reset in O(1) (wrapping every 2³² searches clears it).
type visited struct {
	marks []uint32
	gen   uint32
}

func (v *visited) next() {
	v.gen++
	if v.gen == 0 {
		clear(v.marks)
		v.gen = 1
	}
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
