package bot

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTSBefore(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"1800000002.000100", "1800000002.000300", true},
		{"1800000002.000300", "1800000002.000300", false},
		{"1800000002.000400", "1800000002.000300", false},
		{"999999999.999999", "1800000002.000100", true}, // fewer digits: not a string order
		{"1800000002", "1800000002.000001", true},
		{"", "1800000002.000100", false},
		{"x.1", "1800000002.000100", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tsBefore(tt.a, tt.b), "%s < %s", tt.a, tt.b)
	}
}

func TestIsAnswer(t *testing.T) {
	require.True(t, isAnswer("VPN certificates rotate every 45 days [1]."))
	require.False(t, isAnswer(placeholderText))
	require.False(t, isAnswer("VPN certificates rotate …"), "a partial answer a failed update left")
	require.False(t, isAnswer("Sorry, I could not answer that right now."))
}
