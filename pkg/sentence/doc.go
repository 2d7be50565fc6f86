// Package sentence is the one sentence splitter of Rampart: ingestion cuts
// chunks at its boundaries and inference's local provider quotes the
// sentences it finds, so both agree on what a sentence is.
package sentence
