package logging_test

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// TestNewRequestID pins the id's form and its single allocation (the
// string): hex.EncodeToString's intermediate slice has a constant size
// here and stays on the stack, so no hand-written encoding is needed.
func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := logging.NewRequestID()
		require.Len(t, id, 32)
		raw, err := hex.DecodeString(id)
		require.NoError(t, err, "lower-case hex")
		require.Len(t, raw, 16)
		require.Equal(t, hex.EncodeToString(raw), id)
		require.True(t, logging.ValidRequestID(id), "the services keep what they generate")
		require.False(t, seen[id], "random ids do not repeat")
		seen[id] = true
	}
	if raceEnabled {
		return
	}
	require.InDelta(t, 1, testing.AllocsPerRun(100, func() { _ = logging.NewRequestID() }), 0,
		"one allocation: the string")
}
