package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChunkSizes(t *testing.T) {
	tests := []struct {
		n    int
		want []int
	}{
		{1, []int{1}},
		{2, []int{2}},
		{3, []int{2, 1}},
		{63, []int{32, 16, 8, 4, 2, 1}},
		{64, []int{64}},
		{65, []int{64, 1}},
		{130, []int{64, 64, 2}},
		{512, []int{64, 64, 64, 64, 64, 64, 64, 64}},
	}
	for _, tt := range tests {
		got := chunkSizes(tt.n)
		require.Equal(t, tt.want, got, "n=%d", tt.n)
		sum := 0
		for _, c := range got {
			sum += c
		}
		require.Equal(t, tt.n, sum)
	}
}
