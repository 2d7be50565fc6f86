package latency

import (
	"slices"
	"time"
)

// Percentile returns the q-quantile (0 ≤ q ≤ 1, nearest rank) of lat,
// sorting lat in place; 0 for an empty slice.
func Percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	if !slices.IsSorted(lat) {
		slices.Sort(lat)
	}
	i := int(q * float64(len(lat)-1))
	return lat[max(0, min(i, len(lat)-1))]
}

// Reporter is what a *testing.B offers for custom metrics.
type Reporter interface {
	ReportMetric(n float64, unit string)
}

// Report adds "<prefix>p50-µs" and "<prefix>p99-µs" for lat to b and returns
// the two values. It reports nothing for an empty slice.
func Report(b Reporter, prefix string, lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	p50, p99 = Percentile(lat, 0.50), Percentile(lat, 0.99)
	b.ReportMetric(Micros(p50), prefix+"p50-µs")
	b.ReportMetric(Micros(p99), prefix+"p99-µs")
	return p50, p99
}

// Micros is d in microseconds, with sub-microsecond precision.
func Micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
