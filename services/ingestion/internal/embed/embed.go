package embed

import "github.com/rampart-platform/rampart/pkg/hashembed"

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

// hashFusionWeight is the hash embedder's weight in reciprocal rank fusion
// against BM25 (weight 1). Feature hashing only sees the query's words, as
// BM25 does, but without idf: its ranking is much weaker (recall@5 0.44
// against BM25's 0.82 on the git-doc set), and at equal weight it pulled
// the fused recall@5 down to 0.71. At this weight it only reorders BM25's
// near-ties; measured in internal/ingest's corpus test.
const hashFusionWeight = 0.25

// modelFusionWeight is the weight of a learned (semantic) embedding model,
// whose ranking complements BM25 rather than echoing it.
const modelFusionWeight = 1.0

// FusionWeight is the default fusion weight of e's vector ranking.
func FusionWeight(e Embedder) float64 {
	switch e.(type) {
	case Hash, *Hash:
		return hashFusionWeight
	}
	return modelFusionWeight
}

// HashEmbedding is the same vector inference serves as rampart-hash-embed
// (pkg/hashembed), so query and chunk vectors are comparable.
func HashEmbedding(text string, dims int) []float32 { return hashembed.Vector(text, dims) }

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
