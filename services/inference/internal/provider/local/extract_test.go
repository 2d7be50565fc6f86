package local

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWindows(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		limit int
		want  []string
	}{
		{"fits", "make build", 10, []string{"make build"}},
		{"whole words, balanced parts", "aa bb cc dd ee", 10, []string{"aa bb cc", "dd ee"}},
		{"no stub at the end", "aaaa bbbb cccc d", 12, []string{"aaaa bbbb", "cccc d"}},
		{"runs of white space are not quoted", "aa  \tbb  cc", 6, []string{"aa", "bb  cc"}},
		{"a word longer than the limit is cut on a rune boundary", "ééééé x", 5, []string{"éé", "éé", "é x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			prev := 0
			for _, w := range windows(tt.s, tt.limit) {
				require.LessOrEqual(t, prev, w[0], "in order, not overlapping")
				require.LessOrEqual(t, w[1]-w[0], tt.limit)
				got = append(got, tt.s[w[0]:w[1]])
				prev = w[1]
			}
			require.Equal(t, tt.want, got)
		})
	}
}
