package inference

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// The series of each model and endpoint are resolved once and shared by
// concurrent requests: every request is counted on its own series.
func TestMetricsDoneConcurrent(t *testing.T) {
	m := NewMetrics(nil)
	models, endpoints := []string{"a", "b", "c"}, []string{"chat", "stream"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				m.done(models[(g+i)%3], endpoints[i%2], store.Record{PromptTokens: 2, CompletionTokens: 3, CostMicroUSD: 5, Latency: time.Millisecond})
			}
		})
	}
	wg.Wait()
	for _, mo := range models {
		for _, ep := range endpoints {
			require.InDelta(t, 400, testutil.ToFloat64(m.requests.WithLabelValues(mo, ep, "ok")), 0, mo+" "+ep)
		}
		require.InDelta(t, 1600, testutil.ToFloat64(m.tokens.WithLabelValues(mo, "prompt")), 0)
		require.InDelta(t, 2400, testutil.ToFloat64(m.tokens.WithLabelValues(mo, "completion")), 0)
		require.InDelta(t, 4000, testutil.ToFloat64(m.cost.WithLabelValues(mo)), 0)
	}
	require.Same(t, m.series("a", "chat"), m.series("a", "chat"))
	require.Len(t, *m.ok.Load(), 6)
}
