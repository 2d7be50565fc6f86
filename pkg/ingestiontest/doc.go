// Package ingestiontest is the one test double of the ingestion service for
// the services that call it (inference's retrieval, the edge's ingest
// routes): an in-process rampart.ingestion.v1 IngestionService speaking the
// real protocol over real mTLS (pkitest certificates), with real principal
// verification.
//
// Search keeps state: collections of passages added per tenant (Add), the
// tenant taken only from the verified principal (another tenant's
// collection is NotFound, like one that does not exist), the query and
// top_k validated as ingestion validates them, and passages ranked by a
// plain count of shared words, enough to tell a relevant passage from an
// irrelevant one. SetWarning makes every answer carry
// SearchResponse.warning, as ingestion does when a collection's embedding
// model is unavailable. ListCollections lists the tenant's collections
// made by Add (Remove deletes one) unless a Script is set. Every other
// method (WatchJob, the collection, document, job and connection calls) is
// answered by a Script; Unimplemented without one.
//
// Callers are admitted as ingestion admits them: the permission table
// (pkg/permissions) says which service identities may call each method and
// which methods need no principal assertion. Every call is recorded.
//
// What ingestion itself does (chunking, embedding, hybrid search, jobs) is
// ingestion's to test; the e2e tests (tests/e2e) run the real service
// (ADR 0043).
package ingestiontest
