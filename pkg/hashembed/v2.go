package hashembed

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Version 2 features, measured on the git-doc question sets
// (services/ingestion/eval/gitdoc; docs/adr/0031-hash-embedding-v2.md):
// English stop words carry no topic and are dropped; each remaining word
// adds its unigram (weight 1), its bigram with the previous kept word
// (0.5) and its character 3- to 5-grams with word boundary marks ("<wor",
// "ord>"; 0.5 spread as 0.5/√n over its n grams, so long words do not
// dominate), which match inflections and compounds ("worktree" and
// "working trees", "credential" and "credentials"). Term frequencies are
// dampened (log(1+tf)) before signed hashing.
const (
	unigramWeight = 1.0
	bigramWeight  = 0.5
	charWeight    = 0.5
	minGram       = 3
	maxGram       = 5
)

// VectorV2 is the Version 2 embedding of text into dims buckets (dims >
// 0), L2-normalised; text without a content word yields the zero vector.
// Vector (Version 1) stays what it was: vectors of the two versions are
// not comparable.
func VectorV2(text string, dims int) []float32 {
	// Features are keyed by their FNV-1a 64 hash, computed in place
	// ("w:" word, "b:" prev+" "+word, "c:" gram) rather than on built
	// strings, and summed in a pooled open-addressing table: embedding
	// is a large share of ingestion's CPU time. A word's own features
	// (its unigram and character n-gram hashes) come from a memo (text
	// follows Zipf's law: a few thousand words are most of it) keyed by
	// the word's unigram hash, which is computed while the word is
	// lower-cased; log(1+tf) comes from a small cache of the values seen
	// (the sums of a few weights repeat). The features are added in the
	// same order as before, so the vectors are bit for bit what they were
	// (TestVectorV2MatchesPrevious, TestVectorV2Golden).
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	t.reset()
	return t.vector(text, dims)
}

// vector embeds text with the reset table t.
func (t *tfTable) vector(text string, dims int) []float32 {
	if !t.eachASCIIWord(text) {
		for _, w := range Words(text) {
			t.word([]byte(w), fnvString(wordSeed, w))
		}
	}
	// The sums go to the pooled table's scratch vector (a fresh one per
	// chunk was a sixth of ingestion's allocated bytes with Mix's). The
	// distinct features are read in first-seen order from dense arrays
	// (not by slot: the table is larger than the caches nearest the core).
	v := t.sums(dims)
	keys := t.keys
	vals := t.vals[:len(keys)]
	var last, lastLog float64 // a word's new n-grams come in a run of equal sums
	for i, h := range keys {
		x := lastLog
		if vals[i] != last {
			last = vals[i]
			x = t.log1p(last)
			lastLog = x
		}
		idx := bucket(h, dims)
		if h>>63 == 1 {
			v[idx] -= x
		} else {
			v[idx] += x
		}
	}
	return normalise(v)
}

// bucket is h mod dims, by a constant for the usual sizes (a multiply
// instead of a 64-bit division per distinct feature).
func bucket(h uint64, dims int) int {
	var r uint64
	switch dims {
	case 768:
		r = h % 768
	case 256:
		r = h % 256
	case 384:
		r = h % 384
	case 1024:
		r = h % 1024
	case 512:
		r = h % 512
	default:
		r = h % uint64(dims) //nolint:gosec // dims is positive
	}
	return int(r) //nolint:gosec // r < dims
}

// word adds the features of the next word w of the text, whose unigram
// hash ("w:" w) is h.
func (t *tfTable) word(w []byte, h uint64) {
	e, id := features.get(w, h, &t.scratch)
	if t.recording {
		if id < 0 {
			t.recording = false // a word without an id: the ids are void
		}
		t.ids = append(t.ids, uint32(id)) //nolint:gosec // a slot index
	}
	if e.stop() {
		t.hasPrev = false // a bigram does not span a dropped word
		return
	}
	grams := e.grams()
	// Room for all of the word's features first (when the table grows
	// does not change what it sums), then inlined inserts.
	t.reserve(2 + len(grams))
	t.insert(e.unigram(), unigramWeight)
	if t.hasPrev {
		t.insert(fnvBytes(t.prev, w), bigramWeight)
	}
	t.prev, t.hasPrev = e.bigram(), true
	t.addGrams(grams, e.each())
}

// addGrams adds a word's n-grams (hashes never 0: buildEntry), most of the
// inserts, into the room reserved for them, with the table in locals (the
// slice headers in t would be a store and a load per new feature; a
// function of its own keeps them in registers).
func (t *tfTable) addGrams(grams []uint64, each float64) {
	slots, epoch := t.slots, t.epoch
	n := len(t.keys)
	keys, vals := t.keys[:cap(t.keys)], t.vals[:cap(t.vals)]
	mask := uint64(len(slots) - 1) //nolint:gosec // a positive power of two
	for _, g := range grams {
		i := g & mask
		for {
			s := &slots[i]
			if s.epoch != epoch {
				*s = tfSlot{key: g, epoch: epoch, pos: uint32(n)} //nolint:gosec // fewer than 2^31 features
				keys[n], vals[n] = g, each
				n++
				break
			}
			if s.key == g {
				vals[s.pos] += each
				break
			}
			i = (i + 1) & mask
		}
	}
	t.keys, t.vals = keys[:n], vals[:n]
}

// eachASCIIWord adds each word of text as Words would give it (lower-cased
// runs of letters and digits), lower-cased into t.buf and hashed as it
// goes, and reports true; for text that is not all ASCII it adds nothing
// and reports false (Unicode case mapping and letter classes: use Words).
func (t *tfTable) eachASCIIWord(text string) bool {
	i := 0
	for ; i+8 <= len(text); i += 8 {
		if binary.LittleEndian.Uint64([]byte(text[i:i+8]))&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return false
		}
	}
	b := t.buf[:0]
	h := wordSeed
	for i := 0; i < len(text); i++ {
		c := asciiLower[text[i]]
		if c == 0 {
			if len(b) > 0 {
				t.word(b, h)
				b, h = b[:0], wordSeed
			}
			continue
		}
		b = append(b, c)
		h = (h ^ uint64(c)) * fnvPrime
	}
	if len(b) > 0 {
		t.word(b, h)
	}
	t.buf = b
	return true
}

// asciiLower maps ASCII letters and digits to their lower case and
// every other byte to 0 (a word boundary).
var asciiLower = func() (m [256]byte) {
	for c := '0'; c <= '9'; c++ {
		m[c] = byte(c)
	}
	for c := 'a'; c <= 'z'; c++ {
		m[c], m[c-'a'+'A'] = byte(c), byte(c)
	}
	return m
}()

// entry is one (lower-cased) word's features, laid out flat so a word
// costs one look-up in the memo and a few adjacent cache lines (a struct
// pointing at its word and its n-grams was three scattered misses):
//
//	[0] the unigram hash ("w:" word; the memo's key)
//	[1] the hash that starts its bigram ("b:" word " ")
//	[2] len(word) | number of n-grams << 32 | stop word << 63
//	[3] the weight of one of its n-grams (float64 bits)
//	[4:4+⌈len/8⌉] the word's bytes, 8 to a word, little-endian
//	then the hashes of its character n-grams ("c:" gram)
type entry []uint64

const entryHeader = 4

func (e entry) unigram() uint64 { return e[0] }
func (e entry) bigram() uint64  { return e[1] }
func (e entry) stop() bool      { return e[2]>>63 == 1 }
func (e entry) each() float64   { return math.Float64frombits(e[3]) }

// len is the length of the word; n the number of its n-grams.
func (e entry) len() int { return int(e[2] & 0xffffffff) }
func (e entry) n() int   { return int(e[2] >> 32 & 0x7fffffff) }

func (e entry) grams() []uint64 {
	n, words := e.n(), (e.len()+7)/8
	return e[entryHeader+words : entryHeader+words+n]
}

// is reports whether e is the entry of word.
func (e entry) is(word []byte) bool {
	if e.len() != len(word) {
		return false
	}
	packed := e[entryHeader:]
	for i := 0; len(word) > 0; i++ {
		if packed[i] != pack(word) {
			return false
		}
		word = word[min(8, len(word)):]
	}
	return true
}

// pack is the first (up to) 8 bytes of b as a little-endian word.
func pack(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var x uint64
	for i, c := range b {
		x |= uint64(c) << (8 * i)
	}
	return x
}

// maxMemoWord is the longest word the memo keeps (longer ones, rare, are
// computed each time); it bounds an entry's size (3·len n-grams).
const maxMemoWord = 64

// entrySize is the length of the entry of a word of n bytes with g
// n-grams.
func entrySize(n, g int) int { return entryHeader + (n+7)/8 + g }

// buildEntry writes the entry of word (h its unigram hash) into dst
// (grown as needed) and returns it.
func buildEntry(dst []uint64, word []byte, h uint64) entry {
	if stopWords[string(word)] {
		e := append(dst[:0], h, 0, uint64(len(word))|1<<63, 0)
		return packWord(e, word)
	}
	// character n-grams of "<w>", on rune boundaries
	var small [maxMemoWord + 3]byte
	buf := append(append(append(small[:0], '<'), word...), '>')
	var offsSmall [maxMemoWord + 3]int
	offs := offsSmall[:0]
	for i := range string(buf) {
		offs = append(offs, i)
	}
	offs = append(offs, len(buf))
	runes := len(offs) - 1
	grams := 0
	for n := minGram; n <= maxGram; n++ {
		grams += max(0, runes-n+1)
	}
	each := charWeight / math.Sqrt(float64(grams))
	bigram := fnvString(fnvBytes(bigramSeed, word), " ")
	e := append(dst[:0], h, bigram, uint64(len(word))|uint64(grams)<<32, math.Float64bits(each)) //nolint:gosec // lengths are below 2^31
	e = packWord(e, word)
	for n := minGram; n <= maxGram; n++ {
		for i := 0; i+n <= runes; i++ {
			g := fnvBytes(charSeed, buf[offs[i]:offs[i+n]])
			if g == 0 { // counted as 1, as the table counts every feature
				g = 1
			}
			e = append(e, g)
		}
	}
	return e
}

func packWord(e []uint64, word []byte) entry {
	for w := word; len(w) > 0; w = w[min(8, len(w)):] {
		e = append(e, pack(w))
	}
	return e
}

// featureMemo maps words to their entries: an insert-only open-addressing
// table of references into an append-only arena, keyed by the word's
// unigram hash (already computed by the time the word is looked up), read
// without locks (one atomic load per probe, a plain load on amd64 and
// arm64) so concurrent embedders never wait on each other. A slot holds
// the top half of the hash beside the reference, so a probe past another
// word does not touch the arena; the word itself is compared too: a
// 64-bit hash collision cannot mix two words' features. Bounded to
// featureMemoMax words and the arena to arenaBlocks blocks; words past
// either bound are computed each time. The table (1 MiB) is allocated at
// first use, so processes that never embed do not pay for it.
type featureMemo struct {
	once  sync.Once
	slots []atomic.Uint64 // h>>32 << 32 | ref+1; 0: empty
	n     atomic.Int64

	mu     sync.Mutex // allocation in the arena
	blocks [arenaBlocks]*[arenaBlock]uint64
	blk    int // the block being filled (blocks[blk] != nil once used)
	off    int // its first free word
}

const (
	featureMemoBits = 17
	featureMemoMax  = 1 << (featureMemoBits - 1) // 65,536 words
	arenaBlockBits  = 16
	arenaBlock      = 1 << arenaBlockBits // words (512 KiB)
	arenaBlocks     = 64                  // at most 32 MiB
)

var features featureMemo

// get returns the entry of word, whose unigram hash is h, and its slot
// (the word's id: slots are never reused); a word not kept in the memo is
// built in *scratch, with id -1.
func (m *featureMemo) get(word []byte, h uint64, scratch *[]uint64) (entry, int) {
	m.once.Do(func() { m.slots = make([]atomic.Uint64, 1<<featureMemoBits) })
	mask := uint64(len(m.slots) - 1)                        //nolint:gosec // a positive power of two
	i := (h * 0x9E3779B97F4A7C15) >> (64 - featureMemoBits) // FNV's low bits mix poorly
	tag := h &^ 0xffffffff
	for {
		s := m.slots[i].Load()
		if s == 0 {
			break
		}
		if s&^0xffffffff == tag {
			if e := m.entry(s); e[0] == h && e.is(word) {
				return e, int(i) //nolint:gosec // below 2^17
			}
		}
		i = (i + 1) & mask
	}
	if len(word) > maxMemoWord || m.n.Load() >= featureMemoMax {
		*scratch = buildEntry(*scratch, word, h)
		return *scratch, -1
	}
	e, ref, ok := m.alloc(word, h)
	if !ok { // the arena is full
		*scratch = buildEntry(*scratch, word, h)
		return *scratch, -1
	}
	s := tag | uint64(ref+1) //nolint:gosec // ref is below 2^22
	// from the empty slot found: another embedder may fill it first
	for {
		if m.slots[i].CompareAndSwap(0, s) {
			m.n.Add(1)
			return e, int(i) //nolint:gosec // below 2^17
		}
		if g := m.slots[i].Load(); g&^0xffffffff == tag {
			if o := m.entry(g); o[0] == h && o.is(word) {
				return o, int(i) //nolint:gosec // below 2^17
			}
		}
		i = (i + 1) & mask
	}
}

// entry is the entry a slot refers to.
func (m *featureMemo) entry(s uint64) entry {
	ref := int(s&0xffffffff) - 1 //nolint:gosec // refs are below 2^22
	b := m.blocks[ref>>arenaBlockBits]
	off := ref & (arenaBlock - 1)
	e := entry(b[off:])
	return e[:entrySize(e.len(), e.n())]
}

// alloc builds word's entry in the arena (not yet published: the caller's
// compare-and-swap on a slot does that, and orders the writes before any
// reader's load of the slot) and returns it with its reference.
func (m *featureMemo) alloc(word []byte, h uint64) (entry, int, bool) {
	var tmp [entryHeader + maxMemoWord/8 + 3*maxMemoWord]uint64
	e := buildEntry(tmp[:0], word, h)
	m.mu.Lock()
	if m.blocks[m.blk] == nil {
		m.blocks[m.blk] = new([arenaBlock]uint64)
	}
	if m.off+len(e) > arenaBlock {
		if m.blk+1 == arenaBlocks {
			m.mu.Unlock()
			return nil, 0, false
		}
		m.blk++
		m.blocks[m.blk] = new([arenaBlock]uint64)
		m.off = 0
	}
	blk, off := m.blk, m.off
	b := m.blocks[blk]
	m.off += len(e)
	m.mu.Unlock()
	dst := b[off : off+len(e)]
	copy(dst, e)
	return dst, blk<<arenaBlockBits | off, true
}

// The hashes of the feature kinds' prefixes.
var (
	wordSeed   = fnvString(fnvOffset, "w:")
	bigramSeed = fnvString(fnvOffset, "b:")
	charSeed   = fnvString(fnvOffset, "c:")
)

// tfTable sums feature weights by feature hash: open addressing with
// linear probing, grown by doubling at half load. A slot belongs to the
// current embedding when its epoch is the table's (so a new embedding
// starts without clearing the slots) and points at the feature's place in
// keys and vals, the distinct features and their sums in first-seen
// order. A feature hashing to 0 is counted as 1 (as when key 0 marked an
// empty slot: the vectors must not move). It also carries one
// embedding's scratch state: the lower-cased word buffer, the previous
// kept word's bigram hash, the entry of a word the memo does not keep.
type tfTable struct {
	slots   []tfSlot
	epoch   uint32
	keys    []uint64
	vals    []float64
	buf     []byte
	scratch []uint64
	prev    uint64 // "b:" previous kept word " "
	hasPrev bool
	// ids collects each word's id (VectorV2Words) while recording.
	ids       []uint32
	recording bool
	v         []float64 // per-dimension sums, before normalising
	logs      [logCacheSize]struct{ x, log1p float64 }
}

type tfSlot struct {
	key   uint64
	epoch uint32
	pos   uint32
}

// logCacheSize is the number of log(1+x) values a table remembers
// (direct-mapped by x's bits; term frequencies are sums of a few weights,
// so few distinct values occur). Entry x = 0 is log1p(0) = 0: right as
// it starts.
const logCacheSize = 256

// log1p is math.Log1p(x), from the cache when x was seen.
func (t *tfTable) log1p(x float64) float64 {
	b := math.Float64bits(x)
	e := &t.logs[(b*0x9E3779B97F4A7C15)>>56]
	if e.x != x {
		e.x, e.log1p = x, math.Log1p(x)
	}
	return e.log1p
}

var tables = sync.Pool{New: func() any { return &tfTable{slots: make([]tfSlot, 4096)} }}

// sums returns the table's scratch vector of n zeros.
func (t *tfTable) sums(n int) []float64 {
	if cap(t.v) < n {
		t.v = make([]float64, n)
	}
	t.v = t.v[:n]
	clear(t.v)
	return t.v
}

func (t *tfTable) reset() {
	t.epoch++
	if t.epoch == 0 { // wrapped: slots of 2^32 embeddings ago would look current
		clear(t.slots)
		t.epoch = 1
	}
	t.keys, t.vals = t.keys[:0], t.vals[:0]
	t.hasPrev = false
	t.ids, t.recording = nil, false
}

// reserve makes room for n more features.
func (t *tfTable) reserve(n int) {
	for 2*(len(t.keys)+n) > len(t.slots) {
		t.grow()
	}
	if len(t.keys)+n > cap(t.keys) {
		t.keys = slices.Grow(t.keys, n)
		t.vals = slices.Grow(t.vals, n)
	}
}

// insert adds x to feature h's sum, in a table with room for one more
// feature.
func (t *tfTable) insert(h uint64, x float64) {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(t.slots) - 1) //nolint:gosec // a positive power of two
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.epoch != t.epoch {
			s.key, s.epoch, s.pos = h, t.epoch, uint32(len(t.keys)) //nolint:gosec // fewer than 2^31 features
			t.keys = append(t.keys, h)
			t.vals = append(t.vals, x)
			return
		}
		if s.key == h {
			t.vals[s.pos] += x
			return
		}
	}
}

func (t *tfTable) grow() {
	t.slots = make([]tfSlot, 2*len(t.slots))
	mask := uint64(len(t.slots) - 1) //nolint:gosec // a positive power of two
	for pos, h := range t.keys {
		i := h & mask
		for t.slots[i].epoch == t.epoch {
			i = (i + 1) & mask
		}
		t.slots[i] = tfSlot{key: h, epoch: t.epoch, pos: uint32(pos)} //nolint:gosec // fewer than 2^31 features
	}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvBytes continues an FNV-1a 64 hash h with b.
func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// fnvString continues an FNV-1a 64 hash h with the bytes of s.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func normalise(v []float64) []float32 { return normaliseInto(make([]float32, len(v)), v) }

// normaliseInto writes v, L2-normalised, into dst (of v's length).
func normaliseInto(dst []float32, v []float64) []float32 {
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	dst = dst[:len(v)]
	if norm == 0 {
		clear(dst)
		return dst
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		dst[i] = float32(x / norm)
	}
	return dst
}

// Mix returns a + alpha·b, L2-normalised (a and b of equal length).
// Ingestion mixes each chunk's vector with its document's opening so a
// chunk deep in a page still carries what the page is about.
func Mix(a, b []float32, alpha float64) []float32 {
	return MixInto(make([]float32, len(a)), a, b, alpha)
}

// MixInto is Mix written into dst (of a's length), which may be a or b:
// both are read before dst is written. Ingestion mixes a chunk's fresh
// vector in place instead of allocating another.
func MixInto(dst, a, b []float32, alpha float64) []float32 {
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	v := t.sums(len(a))
	for i := range a {
		v[i] = float64(a[i]) + alpha*float64(b[i])
	}
	return normaliseInto(dst, v)
}

// stopWords are common English function words (and the question words of
// a query): they occur everywhere and would only add noise.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{"a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "so", "such", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "what", "when", "where", "which", "while", "who", "will", "with", "would", "you", "your"} {
		m[w] = true
	}
	return m
}()
