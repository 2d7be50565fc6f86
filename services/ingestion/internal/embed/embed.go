package embed

import "github.com/rampart-platform/rampart/pkg/hashembed"

// DefaultDimensions is the hash embedder's default vector size. Version 2
// uses 768: its character n-grams add many features per word, and at 256
// buckets their collisions cost recall (vector leg recall@5 0.63 at 256,
// 0.79 at 768 on the git-doc development set; 1024 and 2048 measured no
// better than 768).
const DefaultDimensions = 768

// LegacyDimensions is the size of Version 1 vectors stored before the
// collection recorded its dimensions (embedding_dims 0).
const LegacyDimensions = 256

// HashVersion is the current hash embedding algorithm. Version 1
// (pkg/hashembed.Vector, words and bigrams) is what inference still serves
// as rampart-hash-embed; Version 2 (hashembed.VectorV2) is what ingestion
// indexes with. Collections record the version in their model id
// (store.HashModelID), so a collection of older vectors is re-embedded.
const HashVersion = 2

// Embedder embeds texts.
type Embedder interface {
	// Embed returns one vector per text, each of Dimensions() floats.
	Embed(texts []string) [][]float32
	// Dimensions is the vector length.
	Dimensions() int
}

// Hash is the feature-hashing embedder.
type Hash struct {
	Dims int
	// Version is the algorithm (0: HashVersion); 1 only serves the
	// queries of collections not yet re-embedded.
	Version int
}

// Dimensions implements Embedder.
func (h Hash) Dimensions() int {
	if h.Dims <= 0 {
		return DefaultDimensions
	}
	return h.Dims
}

// Algorithm is the version of the algorithm h runs.
func (h Hash) Algorithm() int {
	if h.Version <= 0 {
		return HashVersion
	}
	return h.Version
}

// Embed implements Embedder.
func (h Hash) Embed(texts []string) [][]float32 {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if h.Algorithm() == 1 {
			out[i] = hashembed.Vector(t, h.Dimensions())
		} else {
			out[i] = HashEmbedding(t, h.Dimensions())
		}
	}
	return out
}

// EmbedWords is Embed that also gives each text's word ids
// (hashembed.VectorV2Words; nil for a text without them, and for every
// text of Version 1), all in one slab, for the lexical index to analyse
// the same texts without scanning them again.
func (h Hash) EmbedWords(texts []string) ([][]float32, [][]uint32) {
	if h.Algorithm() == 1 {
		return h.Embed(texts), make([][]uint32, len(texts))
	}
	out := make([][]float32, len(texts))
	words := make([][]uint32, len(texts))
	var slab []uint32
	for i, t := range texts {
		from := len(slab)
		var ok bool
		out[i], slab, ok = hashembed.VectorV2Words(t, h.Dimensions(), slab)
		if ok {
			words[i] = slab[from:len(slab):len(slab)]
		}
	}
	return out, words
}

// DocumentMix is how much of its document's opening (title and first
// chunk, embedded alike) a Version 2 chunk vector mixes in: v = chunk +
// 0.5·opening, normalised. A chunk deep in "OPTIONS" of a manual page
// then still points at what the page is about (its NAME and DESCRIPTION),
// a document-level signal BM25 over single chunks does not have. Measured
// on the git-doc development set: vector leg recall@5 0.735 → 0.765,
// hybrid 0.868 → 0.882 (0.5 and 1 measured alike; 2 worse).
const DocumentMix = 0.5

// MixesDocument reports whether chunk vectors of e mix in their document's
// opening (DocumentMix): the Version 2 hash embedder's do.
func MixesDocument(e Embedder) bool {
	switch h := e.(type) {
	case Hash:
		return h.Algorithm() >= 2
	case *Hash:
		return h.Algorithm() >= 2
	}
	return false
}

// Fusion is how a search merges the vector ranking into BM25's.
type Fusion struct {
	// Scores: a weighted sum of min-max normalised scores
	// (index.FuseScores); otherwise weighted reciprocal rank fusion
	// (index.FuseWeighted).
	Scores bool
	// Weight is the vector ranking's weight (BM25's is 1).
	Weight float64
}

// hashV1Fusion: Version 1 feature hashing only saw the query's words, as
// BM25 does, without idf or stop words: its ranking was much weaker
// (recall@5 0.43 against BM25's 0.83 on git-doc) and at equal weight it
// pulled the fused recall@5 down to 0.71; at 0.25 it only reorders BM25's
// near-ties.
var hashV1Fusion = Fusion{Weight: 0.25}

// hashV2Fusion: Version 2's ranking is close to BM25's in quality (vector
// leg recall@5 0.77 against 0.83 on the development set) but differs in
// what it finds, so it fuses at equal weight; score fusion kept more of
// each ranking's confidence than RRF did (hybrid recall@5 0.882 against
// 0.860 with RRF; weights 0.75 and 1 measured alike, 1.5 worse).
var hashV2Fusion = Fusion{Scores: true, Weight: 1}

// ModelFusion is a learned (semantic) embedding model's fusion, whose
// ranking complements BM25 rather than echoing it.
var ModelFusion = Fusion{Weight: ModelFusionWeight}

// HashFusion is the fusion of hash vectors of version v (0: HashVersion).
func HashFusion(v int) Fusion {
	if v == 1 {
		return hashV1Fusion
	}
	return hashV2Fusion
}

// HashEmbedding is the current (Version 2) hash vector of text.
func HashEmbedding(text string, dims int) []float32 { return hashembed.VectorV2(text, dims) }

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
