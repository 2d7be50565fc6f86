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

// accessLine is an access-log-sized INFO line (the shape of
// BenchmarkBufferedWriterParallel's).
var accessLine = []byte(`{"time":"2026-12-06T18:40:00.123456789Z","level":"INFO","msg":"grpc call","service":"keyvault",` +
	`"request_id":"0123456789abcdef0123456789abcdef","tenant_id":"t_0123456789",` +
	`"method":"/rampart.keyvault.v1.KeyVaultService/GetSecretValue","code":"OK","duration_us":1234,` +
	`"caller":"spiffe://rampart.local/svc/edge"}` + "\n")

// BenchmarkWriteSerial and BenchmarkUrgent, counted in instructions
// (perf stat) rather than timed: the share of a line's Write that the
// level scan was, before it moved out of the lock (ADR 0074 amendment).
func BenchmarkWriteSerial(b *testing.B) {
	w := NewBufferedWriter(discard{}, DefaultFlushDelay, DefaultBufferSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(accessLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUrgent(b *testing.B) {
	n := 0
	for b.Loop() {
		if urgent(accessLine) {
			n++
		}
	}
	if n != 0 {
		b.Fatal("an INFO line is not urgent")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
