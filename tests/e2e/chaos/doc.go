// Package chaos runs `rampart dev --ha` (PostgreSQL, Redis, two replicas of
// every backend, two edges) and, under steady load through both edges,
// kills one replica of each service with SIGKILL and restarts it, through
// the dev stack's control API. It asserts what issue 16 asks of a
// scaled-out Rampart:
//
//   - no acknowledged write is lost: every secret version and document the
//     stack acknowledged is readable afterwards through both edges;
//   - a revoked key is refused on both edges within a second;
//   - a key's rate limit is counted once across both edges (Redis);
//   - a stored response continues (previous_response_id) and is read on
//     either inference replica, and a key's monthly token budget is one
//     budget across both (ADR 0134);
//   - no ingestion job is done twice: every job succeeded once, each
//     document has exactly its chunks, and the collection's generation
//     (bumped by each commit) grew by the number of documents;
//   - the client-visible error rate (operations that failed after the
//     client's retries over both edges) stays under a bound, and is logged
//     with the raw per-attempt error count.
//
// The load is bounded in time and count (a few requests per second per
// worker, a few thousand in all) and goes to loopback only: the machine it
// runs on may have two cores shared with other test suites. It is its own
// package so `go test ./...` runs it beside the other e2e tests.
package chaos
