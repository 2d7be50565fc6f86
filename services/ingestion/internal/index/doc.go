// Package index is ingestion's hybrid retrieval: a BM25 lexical index of
// our own (one per tenant and collection, ADR 0051) and brute-force or
// HNSW cosine over the collection's vectors held in memory, fused by
// reciprocal rank or score fusion.
//
// The lexical index (lexical.go, postings.go, bm25.go, persist.go) is an
// inverted index built for collections that mostly grow: chunks get
// ordinals in the order they are indexed, each term's postings list is
// appended to (compressed gaps and term frequencies), a re-indexed or
// deleted chunk leaves a tombstone, and when a quarter of the chunks are
// dead the index is compacted. It is searched in memory and ranks exactly
// as the bleve index it replaced did (bm25.go; TestNativeMatchesBleve
// compares the two on a corpus; statistics independent of segments as in
// ADR 0045). Text is analysed by rampart_en (analyzer.go).
//
// What it keeps on disk, under <data dir>/index/<tenant digest>/<collection
// digest> (neither the tenant id nor the collection name is a path
// component; both remain plaintext metadata in the database):
// immutable segment files and a manifest, each sealed with the tenant's
// key (AES-256-GCM, bound to the tenant, collection and file name). Terms
// are stored as keyed hashes (HMAC-SHA256 under a key derived from the
// tenant's data key, truncated to 64 bits), never as text, so the files
// reveal neither the chunks' words nor the tenant's vocabulary, and a
// crypto-shred of the tenant's key makes them unreadable. Changes reach
// the disk within a second (write a temporary file, fsync, rename; the
// manifest last), and the manifest's generation is one the written files
// hold, so after a crash the index is either current or rebuilt from the
// sealed chunks in the database. An index of the bleve format used before
// is deleted at open and rebuilt the same way. Purging a tenant deletes
// its index directory.
package index
