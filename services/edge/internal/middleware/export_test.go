package middleware

import "github.com/prometheus/client_golang/prometheus"

// Requests and Duration expose the vectors to the tests.
func (m *Metrics) Requests() *prometheus.CounterVec   { return m.requests }
func (m *Metrics) Duration() *prometheus.HistogramVec { return m.duration }
