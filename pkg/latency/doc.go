// Package latency turns per-request durations collected by a benchmark into
// the percentiles `make bench` reports, so every benchmark computes them the
// same way.
package latency
