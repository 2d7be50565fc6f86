package latency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type metrics map[string]float64

func (m metrics) ReportMetric(n float64, unit string) { m[unit] = n }

func TestPercentile(t *testing.T) {
	lat := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, time.Microsecond},
		{0.5, 50 * time.Microsecond},
		{0.99, 99 * time.Microsecond},
		{1, 100 * time.Microsecond},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Percentile(lat, tt.q), "q=%v", tt.q)
	}
	require.Zero(t, Percentile(nil, 0.5))
}

func TestReport(t *testing.T) {
	m := metrics{}
	p50, p99 := Report(m, "edge-", []time.Duration{3 * time.Microsecond, time.Microsecond, 2 * time.Microsecond})
	require.Equal(t, 2*time.Microsecond, p50)
	require.Equal(t, 2*time.Microsecond, p99)
	require.Equal(t, metrics{"edge-p50-µs": 2, "edge-p99-µs": 2}, m)

	empty := metrics{}
	Report(empty, "", nil)
	require.Empty(t, empty)
}
