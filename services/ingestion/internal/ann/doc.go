// Package ann is approximate nearest-neighbour search over unit vectors: a
// hierarchical navigable small world graph (HNSW, Malkov & Yashunin 2016)
// built in memory from vectors the caller has decrypted, read-only once
// built. Nothing here touches the disk.
//
// github.com/coder/hnsw (the maintained pure-Go candidate) was measured out:
// neighbour lists are maps sorted on every hop and its layer search stops at
// the first hop without improvement, so it was slower and below the recall
// target; see docs/adr and docs/performance.md.
package ann
