package index

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/hashembed"
)

// TestCountWordsMatchesCount: analysing a text from its word ids gives
// the terms, frequencies (in order) and length that scanning it does.
func TestCountWordsMatchesCount(t *testing.T) {
	for _, text := range []string{
		"",
		"The Worktree of git: 3 WORKING trees, and the index's entries.",
		"git-worktree - Manage multiple working trees\nA git repository can support multiple working trees, allowing you to check out more than one branch at a time. Don't, won't, it's 2026.",
		"ALL CAPS STOP WORDS: THE AND OF ABOUT ourselves yourselves running runner runs",
	} {
		t.Run(text, func(t *testing.T) {
			_, ids, ok := hashembed.VectorV2Words(text, 64, nil)
			require.True(t, ok)
			var want, got counter
			n := defaultAnalyzer.count(text, &want)
			require.Equal(t, n, defaultAnalyzer.countWords(ids, len(text), &got))
			require.Equal(t, want.terms, got.terms)
			// twice: the second time from the stems by id
			require.Equal(t, n, defaultAnalyzer.countWords(ids, len(text), &got))
			require.Equal(t, want.terms, got.terms)
		})
	}
}
