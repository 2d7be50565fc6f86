package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// BenchmarkRAGChatLatency: what retrieval adds to a chat completion — the
// Search RPC to ingestion over mTLS with the principal forwarded, merging,
// and answering from 8 passages of ~1 KB — measured against the same chat
// without rampart.collections, both sequential in the same run. Ingestion
// is the in-repo fake (real mTLS and principal verification, trivial
// ranking): the real search's own cost is ingestion's benchmark.
func BenchmarkRAGChatLatency(b *testing.B) {
	for _, model := range []string{"rampart-extractive", "echo"} {
		b.Run(model, func(b *testing.B) {
			srv := servertest.Start(b, servertest.Options{Ingestion: func(f *ingestiontest.Server) {
				filler := strings.Repeat("Operations notes describe routine maintenance of the office network. ", 14)
				for i := range 200 {
					f.Add("t1", "handbook", &ingestionv1.Passage{ChunkId: fmt.Sprintf("doc-%d:0", i), DocumentId: fmt.Sprintf("doc-%d", i),
						Source: fmt.Sprintf("doc-%d.md", i), Text: filler + fmt.Sprintf("VPN certificates of site %d rotate every 45 days.", i)})
				}
			}})
			e := &env{srv: srv, client: inferencev1.NewInferenceServiceClient(srv.Dial(b, "edge"))}
			ctx := srv.Outgoing(b.Context(), b, principalFor("t1", "k1"))
			plain := &inferencev1.ChatCompletionRequest{Body: chatBody(model, "How often do VPN certificates rotate?", "")}
			rag := &inferencev1.ChatCompletionRequest{Body: chatBody(model, "How often do VPN certificates rotate?", `,"rampart":{"collections":["handbook"],"top_k":8}`)}
			n := max(b.N, 200)
			run := func(req *inferencev1.ChatCompletionRequest) []time.Duration {
				lat := make([]time.Duration, 0, n)
				for range n {
					start := time.Now()
					if _, err := e.client.ChatCompletion(ctx, req); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
				return lat
			}
			run(rag) // warm up connections and caches
			b.ResetTimer()
			p50, p99 := latency.Report(b, "plain-", run(plain))
			r50, r99 := latency.Report(b, "rag-", run(rag))
			b.StopTimer()
			b.ReportMetric(latency.Micros(r50-p50), "added-p50-µs")
			b.ReportMetric(latency.Micros(r99-p99), "added-p99-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
