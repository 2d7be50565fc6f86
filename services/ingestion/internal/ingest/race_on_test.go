//go:build race

package ingest_test

// raceEnabled: the race detector slows the corpus test's 8 MB ingest
// several-fold and it exercises no concurrency of its own.
const raceEnabled = true
