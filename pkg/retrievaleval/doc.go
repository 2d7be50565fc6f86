// Package retrievaleval scores a search engine against a labelled question
// set: recall@k, MRR@10 and nDCG@10 over the ranking of documents, or of
// passages, that a search returns. It is public (outside internal/) so that the CLI's
// `rampart eval retrieval` and this service's corpus test compute the same
// numbers from the same file format.
//
// Question sets are JSON Lines, one question a line:
//
//	{"id": "q01", "question": "…", "relevant": ["git-stash.html"]}
//
// A relevant entry names a document by its id or by its source; a source
// matches when it equals the entry or ends with "/" + entry (so a corpus
// ingested with full paths still matches file names).
//
// A question may also name the passages that answer it, as quotes of the
// relevant documents:
//
//	{"id": "s01", "question": "…", "relevant": ["docs/security.md"], "passages": ["A key may rotate itself"]}
//
// It is then scored on the passages a search returns, not on their
// documents (ScoreQuestion): whether the passage that answers comes first,
// not just its document — what matters when a collection is one long
// document, as in the README's quick start.
package retrievaleval
