// Package ann is approximate nearest-neighbour search over unit vectors: a
// hierarchical navigable small world graph (HNSW, Malkov & Yashunin 2016)
// kept in memory from vectors the caller has decrypted. Nothing here
// touches the disk.
//
// The graph grows in place: Add appends vectors (found at once by an exact
// scan of the not-yet-linked tail), Link inserts them into the live graph
// with several goroutines (per-node locks, so inserts and searches run
// concurrently), Delete tombstones a vector (walked through, never
// returned; the owner rebuilds when too many are dead). Distances use an
// AVX2/FMA dot product on amd64 (dot_amd64.s) and an unrolled loop
// elsewhere.
//
// github.com/coder/hnsw (the maintained pure-Go candidate) was measured out:
// neighbour lists are maps sorted on every hop and its layer search stops at
// the first hop without improvement, so it was slower and below the recall
// target; see docs/adr and docs/performance.md.
package ann
