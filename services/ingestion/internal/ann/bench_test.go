package ann_test

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ann"
)

// BenchmarkHNSW builds a graph over ANN_BENCH_N (default 100 000)
// embedding-shaped 384-dimensional vectors (see embedded) and reports the
// build time, the heap the graph holds beyond its vectors, the query
// latency at the default search width and recall@10 against exact search
// on 100 held-out queries.
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
	b.ReportMetric(g.heapMiB, "graph-MiB")
	b.ReportMetric(float64(g.ix.Len()*g.dims*4)/(1<<20), "vectors-MiB")
	b.ReportMetric(g.recall, "recall@10")
	latency.Report(b, "", lat)
}

type bench struct {
	ix              *ann.Index
	queries         []float32
	dims            int
	build           time.Duration
	heapMiB, recall float64
}

var benchGraph *bench

func buildBench(b *testing.B) *bench {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("ANN_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	const dims = 384
	r := rand.New(rand.NewPCG(11, 12))
	all := embedded(r, n+100, dims, 24, 1000, 0.7)
	vecs, queries := all[:n*dims], all[n*dims:]

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix := ann.Build(vecs, dims, ann.Options{})
	build := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)

	return &bench{ix: ix, queries: queries, dims: dims, build: build,
		heapMiB: float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20),
		recall:  recall(b, ix, vecs, queries, dims, 10, 0)}
}
