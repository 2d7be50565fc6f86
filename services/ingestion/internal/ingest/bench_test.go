package ingest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

const vocabSize = 30000

// vocabulary for synthetic prose: 30,000 pseudo-words drawn by Zipf's law
// (s = 1.1), roughly the shape of English text.
var vocab = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]string, vocabSize)
	for i := range out {
		n := 3 + r.IntN(8)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		out[i] = string(b)
	}
	return out
}()

func prose(r *rand.Rand, bytes int) string {
	return sentences(r, bytes, 8, 15)
}

// sentences writes sentences of min..min+spread-1 Zipf-drawn words.
func sentences(r *rand.Rand, bytes, minWords, spread int) string {
	z := rand.NewZipf(r, 1.1, 1, vocabSize-1)
	var b strings.Builder
	for b.Len() < bytes {
		n := minWords + r.IntN(spread)
		for i := range n {
			w := vocab[z.Uint64()]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if i < n-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
	}
	return b.String()
}

type env struct {
	svc  *ingest.Service
	done chan int
	ctx  context.Context
}

func newEnv(b testing.TB, workers int) *env {
	b.Helper()
	return newEnvWith(b, workers, func(*ingest.Options) {})
}

// newEnvWith is newEnv with options changed by set.
func newEnvWith(b testing.TB, workers int, set func(*ingest.Options)) *env {
	b.Helper()
	dir := b.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "ingestion.db"))
	require.NoError(b, err)
	lex := index.NewLexical(filepath.Join(dir, "index"))
	e := &env{done: make(chan int, 1024)}
	o := ingest.Options{
		Store: st, Ring: keyring.New(keyvaulttest.Direct{K: keyvaulttest.NewKMS()}, st, 0, 0), Lexical: lex,
		Vectors: index.NewVectors(0), Embedder: embed.Hash{}, Fetcher: fetch.New(fetch.Options{}),
		Chunk: chunk.Options{Tokens: 300, Overlap: 50}, Workers: workers,
		OnJobDone: func(_, _ string, s int) { e.done <- s },
	}
	set(&o)
	e.svc = ingest.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = e.svc.Run(ctx) }()
	b.Cleanup(func() { cancel(); _ = lex.Close(); _ = st.Close() })
	e.ctx = context.Background()
	_, err = e.svc.CreateCollection(e.ctx, "t", "", nil, "kb", "", "")
	require.NoError(b, err)
	return e
}

// BenchmarkIngest measures end-to-end ingestion of 256 KiB text documents
// with one worker (one core): seal + store the payload, then extract,
// chunk, embed, seal, BM25-index and commit. MB/s is text per core.
func BenchmarkIngest(b *testing.B) {
	e := newEnv(b, 1)
	r := rand.New(rand.NewPCG(3, 4))
	docs := make([]string, 16)
	for i := range docs {
		docs[i] = prose(r, 256<<10)
	}
	b.SetBytes(256 << 10)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("Document %d. %s", i, docs[i%len(docs)])
		_, _, _, err := e.svc.Ingest(e.ctx, "t", ingest.Input{Collection: "kb", Content: []byte(text), ContentType: "text/plain"})
		if err != nil {
			b.Fatal(err)
		}
		if s := <-e.done; s != store.JobSucceeded {
			b.Fatalf("job state %d", s)
		}
	}
	b.StopTimer()
	// MB of text per CPU-second of this process (all its goroutines,
	// the lexical index's background writes included): the per-core figure, less
	// sensitive than wall time to other load on the machine.
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(b.N)*(256<<10)/1e6/cpu, "MB/cpu-s")
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

// BenchmarkHybridSearch measures Search (BM25 + cosine + score fusion +
// opening and reranking the top 10 sealed chunks for a top 5; ADR 0113)
// over a collection of about 14k chunks of synthetic Zipf prose; queries
// are 4–9 words drawn the same way. INGESTION_BENCH_RERANK=off measures
// it without the reranking (the top 5 opened), for an A/B.
func BenchmarkHybridSearch(b *testing.B) {
	e := newEnvWith(b, 2, func(o *ingest.Options) {
		if os.Getenv("INGESTION_BENCH_RERANK") == "off" {
			o.Rerank = &ingest.Rerank{}
		}
	})
	r := rand.New(rand.NewPCG(5, 6))
	docs := 40 // ≈ 14k chunks; INGESTION_BENCH_DOCS=290 for ≈ 100k
	if v, err := strconv.Atoi(os.Getenv("INGESTION_BENCH_DOCS")); err == nil && v > 0 {
		docs = v
	}
	chunks := 0
	for i := range docs {
		text := prose(r, 310<<10) // ≈ 250 chunks of 300 tokens each
		_, _, _, err := e.svc.Ingest(e.ctx, "t", ingest.Input{Collection: "kb", Content: []byte(fmt.Sprintf("Doc %d. %s", i, text)), ContentType: "text/plain"})
		require.NoError(b, err)
	}
	for range docs {
		require.Equal(b, store.JobSucceeded, <-e.done)
	}
	ds, err := e.svc.ListDocuments(e.ctx, "t", "kb")
	require.NoError(b, err)
	for _, d := range ds {
		chunks += d.Chunks
	}
	queries := make([]string, 64) // 4–9 words, like a question to a chatbot
	for i := range queries {
		queries[i] = sentences(r, 1, 4, 6)
	}
	_, err = e.svc.Search(e.ctx, "t", "kb", queries[0], 5) // load the vectors
	require.NoError(b, err)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		ps, err := e.svc.Search(e.ctx, "t", "kb", queries[i%len(queries)], 5)
		lat = append(lat, time.Since(start))
		if err != nil || len(ps) == 0 {
			b.Fatal(err, len(ps))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(chunks), "chunks")
	latency.Report(b, "", lat)
}

// BenchmarkVectorTopK100k is the exact cosine part alone over 100k
// in-memory 256-dim vectors (the search's share that grows linearly) for a
// short query.
func BenchmarkVectorTopK100k(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	entries := make([]index.VectorEntry, 100_000)
	for i := range entries {
		entries[i] = index.VectorEntry{ID: fmt.Sprint(i), Vec: embed.HashEmbedding(prose(r, 200), embed.DefaultDimensions)}
	}
	q := embed.HashEmbedding(sentences(r, 1, 4, 6), embed.DefaultDimensions)
	m := index.NewMatrix(entries)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		_ = m.TopK(q, 50)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}
