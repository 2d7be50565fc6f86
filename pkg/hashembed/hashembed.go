package hashembed

import (
	"math"
	"strings"
	"unicode"
)

// Vector embeds text into dims buckets (dims > 0). Texts sharing words have
// a positive cosine similarity; empty or word-less text yields the zero
// vector.
func Vector(text string, dims int) []float32 {
	v := make([]float64, dims)
	ws := Words(text)
	// FNV-1a 64 inline (hash/fnv's Write allocates per word through its
	// interface); a bigram's hash continues the previous word's with the
	// separating space, which is the hash of "prev w" without building it.
	const offset, prime = 14695981039346656037, 1099511628211
	feature := func(x uint64) {
		idx := int(x % uint64(dims)) //nolint:gosec // dims is positive and small
		if x>>63 == 1 {
			v[idx]--
		} else {
			v[idx]++
		}
	}
	var prev uint64
	for i, w := range ws {
		h := uint64(offset)
		for j := 0; j < len(w); j++ {
			h = (h ^ uint64(w[j])) * prime
		}
		feature(h)
		if i > 0 {
			b := (prev ^ ' ') * prime
			for j := 0; j < len(w); j++ {
				b = (b ^ uint64(w[j])) * prime
			}
			feature(b)
		}
		prev = h
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// Words splits s into lower-cased runs of letters and digits.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
