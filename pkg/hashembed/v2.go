package hashembed

import (
	"math"
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
	// strings, and counted in a pooled open-addressing table: embedding
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
	if !t.eachASCIIWord(text) {
		for _, w := range Words(text) {
			t.word([]byte(w), fnvString(wordSeed, w))
		}
	}
	// The sums go to the pooled table's scratch vector (a fresh one per
	// chunk was a sixth of ingestion's allocated bytes with Mix's).
	v := t.sums(dims)
	for _, slot := range t.used {
		e := &t.slots[slot]
		h, x := e.key, t.log1p(e.val)
		idx := int(h % uint64(dims)) //nolint:gosec // dims is positive and small
		if h>>63 == 1 {
			v[idx] -= x
		} else {
			v[idx] += x
		}
	}
	return normalise(v)
}

// word adds the features of the next word w of the text, whose unigram
// hash ("w:" w) is h.
func (t *tfTable) word(w []byte, h uint64) {
	f := features.get(w, h)
	if f.stop {
		t.prev = nil // a bigram does not span a dropped word
		return
	}
	// Room for all of the word's features first (when the table grows
	// does not change what it sums), then inlined inserts.
	for 2*(len(t.used)+2+len(f.grams)) > len(t.slots) {
		t.grow()
	}
	t.insert(f.unigram, unigramWeight)
	if t.prev != nil {
		t.insert(fnvBytes(t.prev.bigram, w), bigramWeight)
	}
	t.prev = f
	for _, g := range f.grams {
		t.insert(g, f.each)
	}
}

// eachASCIIWord adds each word of text as Words would give it (lower-cased
// runs of letters and digits), lower-cased into t.buf and hashed as it
// goes, and reports true; for text that is not all ASCII it adds nothing
// and reports false (Unicode case mapping and letter classes: use Words).
func (t *tfTable) eachASCIIWord(text string) bool {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return false
		}
	}
	b := t.buf[:0]
	h := wordSeed
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
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

// wordFeatures are the features of one (lower-cased) word.
type wordFeatures struct {
	word    string
	stop    bool
	unigram uint64   // "w:" word (the memo's key)
	bigram  uint64   // "b:" word " ", continued by the next word
	grams   []uint64 // "c:" its character n-grams, n = minGram..maxGram
	each    float64  // the weight of one of its n-grams
}

func newWordFeatures(word string) *wordFeatures {
	f := &wordFeatures{word: word, unigram: fnvString(wordSeed, word)}
	if stopWords[word] {
		f.stop = true
		return f
	}
	f.bigram = fnvString(fnvString(bigramSeed, word), " ")
	// character n-grams of "<w>", on rune boundaries
	buf := append(append(append(make([]byte, 0, len(word)+2), '<'), word...), '>')
	offs := make([]int, 0, len(buf)+1)
	for i := range string(buf) {
		offs = append(offs, i)
	}
	offs = append(offs, len(buf))
	runes := len(offs) - 1
	grams := 0
	for n := minGram; n <= maxGram; n++ {
		grams += max(0, runes-n+1)
	}
	f.each = charWeight / math.Sqrt(float64(grams))
	f.grams = make([]uint64, 0, grams)
	for n := minGram; n <= maxGram; n++ {
		for i := 0; i+n <= runes; i++ {
			f.grams = append(f.grams, fnvBytes(charSeed, buf[offs[i]:offs[i+n]]))
		}
	}
	return f
}

// featureMemo maps words to their features: an insert-only open-addressing
// table keyed by the word's unigram hash (already computed by the time
// the word is looked up), read without locks (one atomic load per probe,
// a plain load on amd64 and arm64) so concurrent embedders never wait on
// each other. The word itself is compared too: a 64-bit hash collision
// cannot mix two words' features. Bounded to featureMemoMax words (the
// table is twice that, so probes stay short); words past the bound are
// computed each time. The table (1 MiB of pointers) is allocated at first
// use, so processes that never embed do not pay for it.
type featureMemo struct {
	once  sync.Once
	slots []atomic.Pointer[wordFeatures]
	n     atomic.Int64
}

const (
	featureMemoBits = 17
	featureMemoMax  = 1 << (featureMemoBits - 1) // 65,536 words
)

var features featureMemo

// get returns the features of word, whose unigram hash is h.
func (m *featureMemo) get(word []byte, h uint64) *wordFeatures {
	m.once.Do(func() { m.slots = make([]atomic.Pointer[wordFeatures], 1<<featureMemoBits) })
	mask := uint64(len(m.slots) - 1)                        //nolint:gosec // a positive power of two
	i := (h * 0x9E3779B97F4A7C15) >> (64 - featureMemoBits) // FNV's low bits mix poorly
	for {
		f := m.slots[i].Load()
		if f == nil {
			break
		}
		if f.unigram == h && f.word == string(word) {
			return f
		}
		i = (i + 1) & mask
	}
	f := newWordFeatures(string(word))
	if m.n.Load() >= featureMemoMax {
		return f
	}
	for { // from the empty slot found: another embedder may fill it first
		if m.slots[i].CompareAndSwap(nil, f) {
			m.n.Add(1)
			return f
		}
		if g := m.slots[i].Load(); g.unigram == h && g.word == f.word {
			return g
		}
		i = (i + 1) & mask
	}
}

// The hashes of the feature kinds' prefixes.
var (
	wordSeed   = fnvString(fnvOffset, "w:")
	bigramSeed = fnvString(fnvOffset, "b:")
	charSeed   = fnvString(fnvOffset, "c:")
)

// tfTable sums feature weights by feature hash: open addressing with
// linear probing, grown by doubling at half load; key 0 marks an empty
// slot (a feature hashing to 0 is counted as 1: one collision in 2^64).
// A slot holds its key and its sum side by side (one cache line per
// probe). It also carries one embedding's scratch state: the lower-cased
// word buffer and the previous kept word (for bigrams).
type tfTable struct {
	slots []tfSlot
	used  []int32 // occupied slots, in insertion order
	buf   []byte
	prev  *wordFeatures
	v     []float64 // per-dimension sums, before normalising
	logs  [logCacheSize]struct{ x, log1p float64 }
}

type tfSlot struct {
	key uint64
	val float64
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
	for _, i := range t.used {
		t.slots[i] = tfSlot{}
	}
	t.used = t.used[:0]
	t.prev = nil
}

func (t *tfTable) add(h uint64, x float64) {
	if 2*(len(t.used)+1) > len(t.slots) {
		t.grow()
	}
	t.insert(h, x)
}

// insert is add into a table with room for one more feature.
func (t *tfTable) insert(h uint64, x float64) {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(t.slots) - 1) //nolint:gosec // a positive power of two
	for i := h & mask; ; i = (i + 1) & mask {
		e := &t.slots[i]
		switch e.key {
		case h:
			e.val += x
			return
		case 0:
			e.key, e.val = h, x
			t.used = append(t.used, int32(i)) //nolint:gosec // i < len(t.slots) <= 2^31
			return
		}
	}
}

func (t *tfTable) grow() {
	slots, used := t.slots, t.used
	t.slots, t.used = make([]tfSlot, 2*len(slots)), make([]int32, 0, 2*len(used))
	for _, i := range used {
		t.add(slots[i].key, slots[i].val)
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

func normalise(v []float64) []float32 {
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, len(v))
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// Mix returns a + alpha·b, L2-normalised (a and b of equal length).
// Ingestion mixes each chunk's vector with its document's opening so a
// chunk deep in a page still carries what the page is about.
func Mix(a, b []float32, alpha float64) []float32 {
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	v := t.sums(len(a))
	for i := range a {
		v[i] = float64(a[i]) + alpha*float64(b[i])
	}
	return normalise(v)
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
