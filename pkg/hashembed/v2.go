package hashembed

import (
	"math"
	"sync"
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
	// is a large share of ingestion's CPU time.
	t, _ := tables.Get().(*tfTable)
	defer tables.Put(t)
	t.reset()
	prev := ""
	for _, w := range Words(text) {
		if stopWords[w] {
			prev = "" // a bigram does not span a dropped word
			continue
		}
		t.add(fnvString(wordSeed, w), unigramWeight)
		if prev != "" {
			t.add(fnvString(fnvString(fnvString(bigramSeed, prev), " "), w), bigramWeight)
		}
		prev = w
		// character n-grams of "<w>", on rune boundaries
		t.buf = append(append(append(t.buf[:0], '<'), w...), '>')
		t.offs = t.offs[:0]
		for i := range string(t.buf) {
			t.offs = append(t.offs, i)
		}
		t.offs = append(t.offs, len(t.buf))
		runes := len(t.offs) - 1
		grams := 0
		for n := minGram; n <= maxGram; n++ {
			grams += max(0, runes-n+1)
		}
		each := charWeight / math.Sqrt(float64(grams))
		for n := minGram; n <= maxGram; n++ {
			for i := 0; i+n <= runes; i++ {
				t.add(fnvBytes(charSeed, t.buf[t.offs[i]:t.offs[i+n]]), each)
			}
		}
	}
	v := make([]float64, dims)
	for _, slot := range t.used {
		h, x := t.keys[slot], t.vals[slot]
		idx := int(h % uint64(dims)) //nolint:gosec // dims is positive and small
		if h>>63 == 1 {
			v[idx] -= math.Log1p(x)
		} else {
			v[idx] += math.Log1p(x)
		}
	}
	return normalise(v)
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
	offs []int
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
