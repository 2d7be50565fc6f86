package index

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
)

// collIndex is one collection's inverted index in memory (ADR 0051).
// Chunks get ordinals in the order they are added; a chunk indexed again
// (same id) or deleted leaves a tombstone on its old ordinal. Each term
// has one postings list over all ordinals, append-only: ordinals only
// grow, so adding a chunk appends to the lists of its terms and nothing
// is ever rewritten until a compaction drops the dead (compact).
//
// Terms are known by their keyed hash (termKeyer: HMAC under a key
// derived from the tenant's data key), never by their text; hot maps the
// process-local hash the analyser already computes (termHash) to the
// term's id so indexing computes an HMAC only for a term new to this
// process.
type collIndex struct {
	mu sync.RWMutex

	ids   []string          // ordinal → chunk id
	lens  []uint32          // ordinal → analysed length (terms)
	byID  map[string]uint32 // live chunk id → ordinal
	dead  []uint64          // tombstones, a bit per ordinal
	nDead int
	// deadEpoch changes whenever a chunk dies, so cached live document
	// frequencies (dfCache) computed before are recomputed.
	deadEpoch uint32

	terms   map[uint64]uint32 // keyed term hash → term id
	hot     map[uint64]uint32 // termHash → term id
	keys    []uint64          // term id → keyed hash
	post    []postings        // term id → postings
	dfCache []uint64          // term id → deadEpoch<<32 | live df (atomic)

	gen string // the collection generation the index holds (Generation)

	keyer *termKeyer
	disk  persistState // persist.go
}

// postings is a term's list: per chunk, uvarint(gap<<1 | tf==1) and, when
// tf > 1, uvarint(tf), where gap is the ordinal minus the previous one's
// plus one (the first counts from 0).
type postings struct {
	buf  []byte
	next uint32 // last ordinal + 1
	n    uint32 // chunks in the list, dead ones included
	// what the last flush wrote (persist.go)
	fLen, fNext, fN uint32
	dirty           bool // in disk.dirty
}

func newCollIndex(keyer *termKeyer) *collIndex {
	return &collIndex{byID: map[string]uint32{}, terms: map[uint64]uint32{}, hot: map[uint64]uint32{}, keyer: keyer}
}

func (p *postings) add(ord, tf uint32) {
	gap := uint64(ord - p.next)
	if tf == 1 {
		p.buf = binary.AppendUvarint(p.buf, gap<<1|1)
	} else {
		p.buf = binary.AppendUvarint(p.buf, gap<<1)
		p.buf = binary.AppendUvarint(p.buf, uint64(tf))
	}
	p.next = ord + 1
	p.n++
}

// decode reads the posting at buf[i:] following ordinal next-1 and returns
// its ordinal, tf and the offset of the next posting.
func decode(buf []byte, i int, next uint32) (ord, tf uint32, j int) {
	v, w := binary.Uvarint(buf[i:])
	i += w
	ord = next + uint32(v>>1) //nolint:gosec // written from uint32 values (add)
	if v&1 == 1 {
		return ord, 1, i
	}
	t, w := binary.Uvarint(buf[i:])
	return ord, uint32(t), i + w //nolint:gosec // written from a uint32 (add)
}

func (ix *collIndex) isDead(ord uint32) bool {
	return ix.dead[ord>>6]&(1<<(ord&63)) != 0
}

// kill tombstones an ordinal (the caller holds mu).
func (ix *collIndex) kill(ord uint32) {
	if ix.isDead(ord) {
		return
	}
	ix.dead[ord>>6] |= 1 << (ord & 63)
	ix.nDead++
	ix.deadEpoch++
	ix.disk.deadDirty = true
}

// termID returns the id of the term analysed as (h, s), created if new
// (the caller holds mu for writing).
func (ix *collIndex) termID(h uint64, s string) uint32 {
	if id, ok := ix.hot[h]; ok {
		return id
	}
	k := ix.keyer.key(s)
	id, ok := ix.terms[k]
	if !ok {
		id = ix.newTerm(k)
	}
	ix.hot[h] = id
	return id
}

func (ix *collIndex) newTerm(k uint64) uint32 {
	id := u32(len(ix.post))
	ix.terms[k] = id
	ix.keys = append(ix.keys, k)
	ix.post = append(ix.post, postings{})
	ix.dfCache = append(ix.dfCache, 0)
	return id
}

// addDoc appends a chunk and returns its ordinal (the caller holds mu for
// writing); a live chunk of the same id dies.
func (ix *collIndex) addDoc(id string, length uint32) uint32 {
	if old, ok := ix.byID[id]; ok {
		ix.kill(old)
	}
	ord := u32(len(ix.ids))
	ix.ids = append(ix.ids, id)
	ix.lens = append(ix.lens, length)
	if int(ord>>6) >= len(ix.dead) {
		ix.dead = append(ix.dead, 0)
	}
	ix.byID[id] = ord
	return ord
}

// addPosting records term tid in chunk ord (ordinals in increasing order
// per term; the caller holds mu for writing).
func (ix *collIndex) addPosting(tid, ord, tf uint32) {
	p := &ix.post[tid]
	if !p.dirty {
		p.dirty = true
		ix.disk.dirty = append(ix.disk.dirty, tid)
	}
	p.add(ord, tf)
}

// maxChunks bounds a collection's ordinals (uint32), dead ones included
// (a compaction frees them).
const maxChunks = 1<<32 - 1

// errFull: a collection reached maxChunks ordinals.
var errFull = errors.New("lexical index: the collection holds too many chunks")

// add indexes an analysed batch.
func (ix *collIndex) add(b *batch) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(ix.ids)+len(b.docs) > maxChunks {
		return errFull
	}
	for i := range b.docs {
		d := &b.docs[i]
		ord := ix.addDoc(d.id, d.length)
		for _, t := range b.terms[d.from:d.to] {
			ix.addPosting(ix.termID(t.h, t.s), ord, t.tf)
		}
	}
	return nil
}

// remove tombstones chunks by id.
func (ix *collIndex) remove(ids []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, id := range ids {
		if ord, ok := ix.byID[id]; ok {
			delete(ix.byID, id)
			ix.kill(ord)
		}
	}
}

// live is the number of live chunks (the caller holds mu).
func (ix *collIndex) live() int { return len(ix.ids) - ix.nDead }

// liveDF is the number of live chunks holding term tid (the caller holds
// mu, for reading at least): the list's length without tombstones, counted
// once per term and deadEpoch (concurrent searches may both count it).
func (ix *collIndex) liveDF(tid uint32) uint64 {
	p := &ix.post[tid]
	if ix.nDead == 0 {
		return uint64(p.n)
	}
	c := atomic.LoadUint64(&ix.dfCache[tid])
	if c != 0 && uint32(c>>32) == ix.deadEpoch {
		return c & 0xffffffff
	}
	var n uint64
	next := uint32(0)
	for i := 0; i < len(p.buf); {
		var ord uint32
		ord, _, i = decode(p.buf, i, next)
		next = ord + 1
		if !ix.isDead(ord) {
			n++
		}
	}
	atomic.StoreUint64(&ix.dfCache[tid], uint64(ix.deadEpoch)<<32|n)
	return n
}

// compactAt is the fraction of dead chunks at which compact runs.
const compactAt = 0.25

// needsCompaction reports whether enough chunks are dead to compact (the
// caller holds mu).
func (ix *collIndex) needsCompaction() bool {
	return ix.nDead >= 64 && float64(ix.nDead) >= compactAt*float64(len(ix.ids))
}

// compact renumbers the live chunks densely and rewrites every list
// without the dead ones; terms left without a chunk are dropped. The
// caller holds mu for writing and disk.mu (the next flush then writes the
// whole index as one segment: persist.go).
func (ix *collIndex) compact() {
	newOrd := make([]uint32, len(ix.ids))
	ids := make([]string, 0, ix.live())
	lens := make([]uint32, 0, ix.live())
	for ord, id := range ix.ids {
		if ix.isDead(uint32(ord)) {
			newOrd[ord] = ^uint32(0)
			continue
		}
		newOrd[ord] = u32(len(ids))
		ids = append(ids, id)
		lens = append(lens, ix.lens[ord])
	}
	newID := make([]uint32, len(ix.post))
	var post []postings
	var keys []uint64
	terms := make(map[uint64]uint32, len(ix.terms))
	for tid := range ix.post {
		old := &ix.post[tid]
		var p postings
		next := uint32(0)
		for i := 0; i < len(old.buf); {
			var ord, tf uint32
			ord, tf, i = decode(old.buf, i, next)
			next = ord + 1
			if o := newOrd[ord]; o != ^uint32(0) {
				p.add(o, tf)
			}
		}
		newID[tid] = ^uint32(0)
		if p.n == 0 {
			continue
		}
		newID[tid] = u32(len(post))
		p.dirty = true
		terms[ix.keys[tid]] = u32(len(post))
		keys = append(keys, ix.keys[tid])
		post = append(post, p)
	}
	hot := make(map[uint64]uint32, len(ix.hot))
	for h, tid := range ix.hot {
		if n := newID[tid]; n != ^uint32(0) {
			hot[h] = n
		}
	}
	ix.ids, ix.lens, ix.post, ix.keys, ix.terms, ix.hot = ids, lens, post, keys, terms, hot
	ix.byID = make(map[string]uint32, len(ids))
	for ord, id := range ids {
		ix.byID[id] = uint32(ord)
	}
	ix.dead = make([]uint64, (len(ids)+63)/64)
	ix.nDead = 0
	ix.deadEpoch++
	ix.dfCache = make([]uint64, len(post))
	ix.disk.rewriteAll()
}
