// Package rag is inference's retrieval-augmented generation: it searches
// the caller tenant's collections through ingestion's Search RPC (over
// mTLS, with the caller's principal forwarded so ingestion scopes the
// search to that tenant), builds the retrieval query from the
// conversation, turns passages into a grounded prompt for language models,
// and maps passages to the citations of the response.
//
// Design: docs/adr/0012-retrieval-augmented-chat.md.
package rag
