// Package gitdoc_test checks the shipped git-doc retrieval question sets;
// the sets themselves are data (questions.jsonl, heldout.jsonl), used by
// rampart eval retrieval and by the ingestion corpus test.
package gitdoc_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/retrievaleval"
)

// TestShippedSets: both sets parse, are large enough, and do not share a
// question (the held-out set must not repeat the development set).
func TestShippedSets(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"questions.jsonl", "heldout.jsonl"} {
		f, err := os.Open(name)
		require.NoError(t, err)
		qs, err := retrievaleval.Load(f)
		_ = f.Close()
		require.NoError(t, err, name)
		require.GreaterOrEqual(t, len(qs), 50, name)
		for _, q := range qs {
			prev, dup := seen[q.ID]
			require.False(t, dup, "%s: id %s also in %s", name, q.ID, prev)
			seen[q.ID] = name
			prev, dup = seen["q:"+q.Question]
			require.False(t, dup, "%s: question %q also in %s", name, q.Question, prev)
			seen["q:"+q.Question] = name
		}
	}
}
