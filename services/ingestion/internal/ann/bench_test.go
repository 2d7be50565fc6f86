package ann_test

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ann"
)

// BenchmarkHNSW builds a graph over ANN_BENCH_N (default 100 000)
// embedding-shaped 384-dimensional vectors (see embedded) with one
// goroutine per core and reports the build's wall time and process CPU
// time, the heap the index holds (its copy of the vectors plus the graph),
// the cost of inserting 1,000 more vectors into the live graph afterwards
// (per vector, wall and CPU), the query latency at the default search width and
// recall@10 against exact search on 100 held-out queries.
//
// The first (b.N = 1) run builds; later runs reuse the graph.
func BenchmarkHNSW(b *testing.B) {
	if benchGraph == nil {
		benchGraph = buildBench(b)
	}
	g := benchGraph
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		q := g.queries[(i%100)*g.dims : (i%100+1)*g.dims]
		t0 := time.Now()
		_ = g.ix.Search(q, 10, 0)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(g.build.Seconds(), "build-s")
	b.ReportMetric(g.buildCPU.Seconds(), "build-cpu-s")
	b.ReportMetric(g.heapMiB, "index-MiB")
	b.ReportMetric(float64(g.ix.Len()*g.dims*4)/(1<<20), "vectors-MiB")
	b.ReportMetric(g.insertUS, "insert-µs/vec")
	b.ReportMetric(g.insertCPUUS, "insert-cpu-µs/vec")
	b.ReportMetric(g.recall, "recall@10")
	latency.Report(b, "", lat)
}

type bench struct {
	ix              *ann.Index
	queries         []float32
	dims            int
	build, buildCPU time.Duration
	heapMiB, recall float64
	insertUS        float64
	insertCPUUS     float64
}

var benchGraph *bench

func buildBench(b *testing.B) *bench {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ANN_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	const dims = 384
	r := rand.New(rand.NewPCG(11, 12))
	const more = 1000
	all := embedded(r, n+more+100, dims, 24, 1000, 0.7)
	vecs, extra, queries := all[:n*dims], all[n*dims:(n+more)*dims], all[(n+more)*dims:]

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start, cpu0 := time.Now(), cpuTime()
	ix := ann.Build(vecs, dims, ann.Options{})
	build, buildCPU := time.Since(start), cpuTime()-cpu0
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	got := recall(b, ix, vecs, queries, dims, 10, 0)

	// incremental: 1,000 more into the live graph, in batches of 100
	// (a document's chunks), then recall over all of them
	start, cpu0 = time.Now(), cpuTime()
	for i := 0; i < more; i += 100 {
		ix.Add(extra[i*dims : (i+100)*dims])
		ix.Link(runtime.GOMAXPROCS(0))
	}
	insert, insertCPU := time.Since(start), cpuTime()-cpu0
	require.Equal(b, n+more, ix.Linked())
	all = all[:(n+more)*dims]
	b.Logf("n=%d recall@10 %.4f after build, %.4f after %d incremental inserts", n, got, recall(b, ix, all, queries, dims, 10, 0), more)

	return &bench{ix: ix, queries: queries, dims: dims, build: build, buildCPU: buildCPU,
		heapMiB: heap, recall: got,
		insertUS: float64(insert.Microseconds()) / more, insertCPUUS: float64(insertCPU.Microseconds()) / more}
}

// cpuTime is the process' user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
