package hashembed

import (
	"math"
	"sync"
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
	// follows Zipf's law: a few thousand words are most of it), and
	// log(1+tf) from a small cache of the values seen (the sums of a few
	// weights repeat). The features are added in the same order as
	// before, so the vectors are bit for bit what they were
	// (TestVectorV2MatchesPrevious).
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	t.reset()
	var prev *wordFeatures
	each := func(w []byte) {
		f := features.get(w)
		if f.stop {
			prev = nil // a bigram does not span a dropped word
			return
		}
		t.add(f.unigram, unigramWeight)
		if prev != nil {
			t.add(fnvBytes(prev.bigram, w), bigramWeight)
		}
		prev = f
		for _, h := range f.grams {
			t.add(h, f.each)
		}
	}
	if !eachASCIIWord(text, &t.buf, each) {
		for _, w := range Words(text) {
			each([]byte(w))
		}
	}
	v := make([]float64, dims)
	for _, slot := range t.used {
		h, x := t.keys[slot], t.log1p(t.vals[slot])
		idx := int(h % uint64(dims)) //nolint:gosec // dims is positive and small
		if h>>63 == 1 {
			v[idx] -= x
		} else {
			v[idx] += x
		}
	}
	return normalise(v)
}

// eachASCIIWord calls fn with each word of text as Words would give it
// (lower-cased runs of letters and digits), lower-cased into buf, and
// reports true; for text that is not all ASCII it calls nothing and
// reports false (Unicode case mapping and letter classes: use Words).
func eachASCIIWord(text string, buf *[]byte, fn func([]byte)) bool {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return false
		}
	}
	b := (*buf)[:0]
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
			continue
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b = append(b, c)
			continue
		}
		if len(b) > 0 {
			fn(b)
			b = b[:0]
		}
	}
	if len(b) > 0 {
		fn(b)
	}
	*buf = b
	return true
}

// wordFeatures are the features of one (lower-cased) word.
type wordFeatures struct {
	stop    bool
	unigram uint64   // "w:" word
	bigram  uint64   // "b:" word " ", continued by the next word
	grams   []uint64 // "c:" its character n-grams, n = minGram..maxGram
	each    float64  // the weight of one of its n-grams
}

func newWordFeatures(word string) *wordFeatures {
	if stopWords[word] {
		return &wordFeatures{stop: true}
	}
	f := &wordFeatures{
		unigram: fnvString(wordSeed, word),
		bigram:  fnvString(fnvString(bigramSeed, word), " "),
	}
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

// featureMemo maps words to their features, sharded so concurrent
// embedders rarely wait on each other, bounded in size (words past the
// bound are computed each time).
type featureMemo struct {
	shards [16]struct {
		mu sync.RWMutex
		m  map[string]*wordFeatures
	}
}

const featureMemoMax = 1 << 12 // words per shard (65,536 in all)

var features featureMemo

func (m *featureMemo) get(word []byte) *wordFeatures {
	sh := &m.shards[fnvBytes(fnvOffset, word)%uint64(len(m.shards))]
	sh.mu.RLock()
	f, ok := sh.m[string(word)]
	sh.mu.RUnlock()
	if ok {
		return f
	}
	f = newWordFeatures(string(word))
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[string]*wordFeatures{}
	}
	if len(sh.m) < featureMemoMax {
		sh.m[string(word)] = f
	}
	sh.mu.Unlock()
	return f
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
type tfTable struct {
	keys []uint64
	vals []float64
	used []int // occupied slots, in insertion order
	buf  []byte
	logs [logCacheSize]struct{ x, log1p float64 }
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

var tables = sync.Pool{New: func() any { return &tfTable{keys: make([]uint64, 4096), vals: make([]float64, 4096)} }}

func (t *tfTable) reset() {
	for _, i := range t.used {
		t.keys[i], t.vals[i] = 0, 0
	}
	t.used = t.used[:0]
}

func (t *tfTable) add(h uint64, x float64) {
	if h == 0 {
		h = 1
	}
	if 2*(len(t.used)+1) > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1) //nolint:gosec // a positive power of two
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case h:
			t.vals[i] += x
			return
		case 0:
			t.keys[i], t.vals[i] = h, x
			t.used = append(t.used, int(i)) //nolint:gosec // i < len(t.keys)
			return
		}
	}
}

func (t *tfTable) grow() {
	keys, vals, used := t.keys, t.vals, t.used
	t.keys, t.vals, t.used = make([]uint64, 2*len(keys)), make([]float64, 2*len(vals)), make([]int, 0, 2*len(used))
	for _, i := range used {
		t.add(keys[i], vals[i])
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
	v := make([]float64, len(a))
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
