package embed

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// DefaultDimensions matches inference's rampart-hash-embed default.
const DefaultDimensions = 256

// Embedder embeds texts.
type Embedder interface {
	// Embed returns one vector per text, each of Dimensions() floats.
	Embed(texts []string) [][]float32
	// Dimensions is the vector length.
	Dimensions() int
}

// Hash is the feature-hashing embedder.
type Hash struct{ Dims int }

// Dimensions implements Embedder.
func (h Hash) Dimensions() int {
	if h.Dims <= 0 {
		return DefaultDimensions
	}
	return h.Dims
}

// Embed implements Embedder.
func (h Hash) Embed(texts []string) [][]float32 {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = HashEmbedding(t, h.Dimensions())
	}
	return out
}

// HashEmbedding embeds text into dims buckets; see the package comment.
// Empty or word-less text yields the zero vector.
func HashEmbedding(text string, dims int) []float32 {
	v := make([]float64, dims)
	ws := words(text)
	h := fnv.New64a()
	feature := func(s string) {
		h.Reset()
		_, _ = h.Write([]byte(s))
		x := h.Sum64()
		idx := int(x % uint64(dims)) //nolint:gosec // dims is positive and small
		if x>>63 == 1 {
			v[idx]--
		} else {
			v[idx]++
		}
	}
	for i, w := range ws {
		feature(w)
		if i > 0 {
			feature(ws[i-1] + " " + w)
		}
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

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Dot is the cosine similarity of two L2-normalised vectors.
func Dot(a, b []float32) float32 {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
