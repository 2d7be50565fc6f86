package store_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// BenchmarkDocumentJob is one document job's database work as the worker
// does it, on SQLite: queue a 256 KiB sealed payload, claim the job, read
// the payload, two progress writes, and commit 175 chunks (1.7 KB of
// sealed text, a 3 KB sealed vector each; BenchmarkIngest's documents).
// Random bytes, as sealed data is. Reports the process' CPU time per
// document (the figure to compare on a shared machine).
func BenchmarkDocumentJob(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "ingestion.db"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = st.Close() })
	_, err = st.CreateCollection(ctx, store.Collection{Tenant: "t", Name: "kb", EmbeddingModel: store.HashEmbedModel})
	require.NoError(b, err)
	random := func(n int) []byte {
		p := make([]byte, n)
		_, _ = rand.Read(p)
		return p
	}
	payload := random(256 << 10)
	chunks := make([]store.Chunk, 175)
	for i := range chunks {
		chunks[i] = store.Chunk{Seq: i, Text: random(1700), Vector: random(3100)}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("d%d", i)
		doc := store.Document{Tenant: "t", ID: id, Collection: "kb", ContentMAC: []byte("mac-" + id), Source: []byte("s"), ContentType: "text/plain", SizeBytes: int64(len(payload))}
		_, _, _, err := st.AddDocument(ctx, doc, store.Job{ID: "job-" + id}, payload)
		require.NoError(b, err)
		h := store.NewHolder("r")
		j, ok, err := st.ClaimNext(ctx, []string{"t"}, h, time.Minute)
		require.NoError(b, err)
		require.True(b, ok)
		l := store.Lease{Tenant: "t", JobID: j.ID, Holder: h}
		_, err = st.Payload(ctx, "t", j.ID)
		require.NoError(b, err)
		require.NoError(b, st.SetProgress(ctx, l, store.JobRunning, 0, 0))
		require.NoError(b, st.SetProgress(ctx, l, store.JobRunning, 0, len(chunks)))
		for k := range chunks {
			chunks[k].DocumentID = id
		}
		_, _, err = st.Complete(ctx, l, id, store.HashEmbedModel, chunks, store.DocMeta{})
		require.NoError(b, err)
	}
	b.StopTimer()
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/doc")
	}
}

// cpuTime is the process' user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
