// Package hashembed is Rampart's dependency-free text embedding, signed
// feature hashing (FNV-1a 64) into a fixed number of buckets,
// L2-normalised, in two versions. Vector (Version 1: lower-cased words and
// word bigrams) is what inference serves as the `rampart-hash-embed`
// model. VectorV2 (Version 2: content words, bigrams and character
// n-grams with dampened term frequencies) is what ingestion indexes and
// queries its collections with (docs/adr/0031-hash-embedding-v2.md). Both
// need no weights and always give the same vector for the same text;
// vectors of different versions are not comparable.
package hashembed
