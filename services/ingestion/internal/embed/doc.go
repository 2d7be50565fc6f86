// Package embed turns text into vectors. The "hash" provider is
// deterministic signed feature hashing of lower-cased words and word
// bigrams (FNV-1a 64), L2-normalised: no model weights, works offline.
//
// It is the same algorithm as inference's rampart-hash-embed
// (services/inference/internal/provider/local), which is internal to
// inference and so cannot be imported; the two copies must stay identical so
// query vectors from either service match stored ones.
package embed
