package index

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"
)

// batch is entries analysed for the index, outside its lock: per chunk
// its analysed length and its distinct terms with their frequencies.
type batch struct {
	docs  []batchDoc
	terms []termFreq
}

type batchDoc struct {
	id       string
	length   uint32
	from, to int // its terms in batch.terms
}

// termFreq is a distinct term of a chunk: its termHash, its text (only
// used when the term is new to the index: termKeyer) and its frequency.
type termFreq struct {
	h  uint64
	s  string
	tf uint32
}

// analyse analyses entries like the BM25 field of the bleve index did
// (fastAnalyzer: terms and counts) into a batch.
func analyse(entries []Entry) *batch {
	b := &batch{docs: make([]batchDoc, len(entries))}
	var c counter
	for i, e := range entries {
		from := len(b.terms)
		var n int
		if e.Words != nil {
			n = defaultAnalyzer.countWords(e.Words, len(e.Text), &c)
		} else {
			n = defaultAnalyzer.count(e.Text, &c)
		}
		b.terms = append(b.terms, c.terms...)
		b.docs[i] = batchDoc{id: e.ID, length: u32(n), from: from, to: len(b.terms)}
	}
	return b
}

// counter counts a chunk's distinct terms in an open-addressing table
// keyed by termHash, reused from chunk to chunk (a mark per slot instead
// of clearing it).
type counter struct {
	slots []slot
	mark  uint32
	terms []termFreq
}

type slot struct {
	h    uint64
	mark uint32
	i    int32
}

// reset readies c for a text of n bytes (at most n/2+1 words).
func (c *counter) reset(n int) {
	want := 64
	for want < n+2 { // load factor ≤ ½
		want <<= 1
	}
	if len(c.slots) < want {
		c.slots = make([]slot, want)
		c.mark = 0
	}
	c.mark++
	if c.mark == 0 {
		clear(c.slots)
		c.mark = 1
	}
	c.terms = c.terms[:0]
}

func (c *counter) add(h uint64, s string) {
	m := uint64(len(c.slots) - 1) //nolint:gosec // a power of two ≥ 64
	for i := h & m; ; i = (i + 1) & m {
		sl := &c.slots[i]
		if sl.mark != c.mark {
			*sl = slot{h: h, mark: c.mark, i: int32(len(c.terms))} //nolint:gosec // fewer terms than slots
			c.terms = append(c.terms, termFreq{h: h, s: s, tf: 1})
			return
		}
		if sl.h == h {
			c.terms[sl.i].tf++
			return
		}
	}
}

// termKeyer turns a term into the 64-bit key it is stored under:
// HMAC-SHA256 under a key derived from the tenant's data key, truncated.
// Without the tenant's key the keys say nothing about the vocabulary (a
// dictionary attack needs the key); two terms of one collection share a
// key with a probability of about n²/2⁶⁵ for n terms (n = 10⁶: 3·10⁻⁸),
// which would only merge their postings.
type termKeyer struct {
	mu  sync.Mutex
	mac hash.Hash
	sum []byte
}

// termKeyLabel is what the tenant's MAC key signs to derive the term key.
const termKeyLabel = "rampart-ingestion lexical term key v1"

func newTermKeyer(k Keys) *termKeyer {
	sub := k.MAC([]byte(termKeyLabel))
	defer clear(sub)
	return &termKeyer{mac: hmac.New(sha256.New, sub)}
}

func (t *termKeyer) key(term string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mac.Reset()
	t.mac.Write([]byte(term))
	t.sum = t.mac.Sum(t.sum[:0])
	return binary.LittleEndian.Uint64(t.sum)
}
