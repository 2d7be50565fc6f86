// Package index is ingestion's hybrid retrieval: a BM25 lexical index
// (bleve v2, one scorch index per tenant and collection under
// <data dir>/index/<tenant digest>/<collection>) and brute-force cosine over
// the collection's vectors held in memory, fused by reciprocal rank fusion.
// BM25 is scored with statistics that do not depend on bleve's segment
// layout (bm25.go, ADR 0045).
//
// What the lexical index keeps on disk: chunk ids and the analysed terms of
// each chunk (letters-and-digits tokens, lower-cased, English stop words
// dropped, Porter-stemmed: see AnalyzerName), with Store, term vectors and
// doc values off, so no chunk text is stored in it. Its term dictionary still reveals the vocabulary of the tenant's
// documents, unencrypted: that is the documented limit of encryption at
// rest here. Chunk text and vectors live sealed in the SQL store; a tenant
// crypto-shred makes them unreadable, and purging the tenant deletes its
// index directory.
package index
