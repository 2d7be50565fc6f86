package logging

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUrgent: one search for the level key answers what searching the
// first 64 bytes for both level values did (ADR 0061).
func TestUrgent(t *testing.T) {
	twoSearches := func(line []byte) bool {
		head := line[:min(len(line), 64)]
		return bytes.Contains(head, []byte(`"level":"ERROR`)) || bytes.Contains(head, []byte(`"level":"WARN`))
	}
	tm := `{"time":"2026-12-06T18:40:00.123456789Z",`
	for _, line := range []string{
		tm + `"level":"INFO","msg":"grpc call"}`,
		tm + `"level":"WARN","msg":"x"}`,
		tm + `"level":"ERROR","msg":"x"}`,
		tm + `"level":"ERROR+2","msg":"x"}`,
		tm + `"level":"DEBUG","msg":"x"}`,
		tm + `"level":"WAR`,
		`{"level":"INFO","msg":"a","level":"ERROR"}`,
		`{"level":"INFO","msg":"a","level":"WARN"}`,
		`{"level":"INFO","msg":"a","x":"b","y":"cccccccccccccc","level":"ERROR"}`,
		`{"level":"`,
		`"level":"WARN`,
		``,
		`not json at all`,
	} {
		require.Equal(t, twoSearches([]byte(line)), urgent([]byte(line)), "%q", line)
	}
	require.True(t, urgent([]byte(tm+`"level":"ERROR","msg":"x"}`)))
	require.False(t, urgent([]byte(tm+`"level":"INFO","msg":"ERROR"}`)))
}
