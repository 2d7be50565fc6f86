package hashembed_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/hashembed"
)

func TestVectorV2Words(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"ascii", "The Worktree of git: 3 WORKING trees, and the index.", true},
		{"empty", "", true},
		{"unicode", "Grüße aus Köln", false},
		{"long word", "a " + strings.Repeat("x", 100) + " b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []uint32{7}
			v, ids, ok := hashembed.VectorV2Words(tc.text, 256, prefix)
			require.Equal(t, hashembed.VectorV2(tc.text, 256), v, "the vector is VectorV2's")
			require.Equal(t, tc.ok, ok)
			if !ok {
				require.Equal(t, prefix, ids)
				return
			}
			words := hashembed.Words(tc.text)
			require.Len(t, ids, 1+len(words))
			require.Equal(t, uint32(7), ids[0])
			for i, w := range words {
				require.Less(t, ids[1+i], uint32(hashembed.WordIDs))
				require.Equal(t, w, string(hashembed.MemoWord(ids[1+i])))
			}
		})
	}
}
