// Package gitdoc_test checks the shipped git-doc retrieval question set; the
// set itself is data (questions.jsonl), used by rampart eval retrieval and by
// the ingestion corpus test.
package gitdoc_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retrievaleval"
)

// TestShippedSet: the git-doc question set parses and is large enough.
func TestShippedSet(t *testing.T) {
	f, err := os.Open("questions.jsonl")
	require.NoError(t, err)
	defer f.Close()
	qs, err := retrievaleval.Load(f)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(qs), 50)
}
