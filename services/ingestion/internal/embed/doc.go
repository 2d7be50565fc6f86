// Package embed turns text into vectors. The "hash" provider is
// deterministic signed feature hashing (FNV-1a 64), L2-normalised: no
// model weights, works offline. Version 2 (the current one) hashes content
// words, word bigrams and character n-grams with dampened term
// frequencies; Version 1 (words and bigrams) only answers the queries of
// collections whose vectors have not been re-embedded yet.
//
// The algorithms live in pkg/hashembed. Inference's rampart-hash-embed
// model serves Version 1 to API clients; ingestion embeds locally, so its
// stored and query vectors always come from the same version.
package embed
