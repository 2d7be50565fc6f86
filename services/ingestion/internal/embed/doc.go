// Package embed turns text into vectors. The "hash" provider is
// deterministic signed feature hashing of lower-cased words and word
// bigrams (FNV-1a 64), L2-normalised: no model weights, works offline.
//
// The algorithm lives in pkg/hashembed, which inference's rampart-hash-embed
// uses too, so query vectors from either service match stored ones.
package embed
