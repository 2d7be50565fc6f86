package inference

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// Metrics are per-model Prometheus counters. Labels never carry tenant or
// key ids: model ids come from the deployment's registry, a bounded set.
type Metrics struct {
	requests *prometheus.CounterVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// ok holds the series of each model and endpoint, resolved once: a
	// map replaced on a new pair (under okMu) and read through an atomic
	// pointer, so a request's look-up allocates nothing (the sync.Map
	// before cost a concatenated key and its boxing per request, issue
	// 15). Model ids come from the registry and endpoints are constants:
	// the map stays small.
	ok   atomic.Pointer[map[seriesKey]*okSeries]
	okMu sync.Mutex
	// promptLogErrors counts prompt logs that could not be stored.
	promptLogErrors prometheus.Counter
	// retrievalErrors counts chats answered without documents because
	// ingestion's search failed.
	retrievalErrors prometheus.Counter
}

type seriesKey struct{ model, endpoint string }

// okSeries are the series a successful request touches, looked up once.
type okSeries struct {
	requests, prompt, completion, cost prometheus.Counter
	latency                            prometheus.Observer
}

// NewMetrics registers the metrics with reg (nil = unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inference_requests_total", Help: "Inference requests by model, endpoint and outcome.",
		}, []string{"model", "endpoint", "outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inference_tokens_total", Help: "Tokens charged by model and kind (prompt, completion).",
		}, []string{"model", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_inference_cost_micro_usd_total", Help: "Cost in micro-USD by model, from the price table.",
		}, []string{"model"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rampart_inference_request_seconds", Help: "Inference request latency by model and endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"model", "endpoint"}),
		promptLogErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_inference_prompt_log_errors_total", Help: "Prompt logs (tenants with prompt logging on) that could not be stored.",
		}),
		retrievalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_inference_retrieval_errors_total", Help: "Chats with collections answered without documents because ingestion's search failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.tokens, m.cost, m.latency, m.promptLogErrors, m.retrievalErrors)
	}
	return m
}

func (m *Metrics) promptLogFailed() { m.promptLogErrors.Inc() }

func (m *Metrics) retrievalFailed() { m.retrievalErrors.Inc() }

func (m *Metrics) done(model, endpoint string, u store.Record) {
	s := m.series(model, endpoint)
	s.requests.Inc()
	s.prompt.Add(float64(u.PromptTokens))
	s.completion.Add(float64(u.CompletionTokens))
	s.cost.Add(float64(u.CostMicroUSD))
	s.latency.Observe(u.Latency.Seconds())
}

// series returns the series of model and endpoint.
func (m *Metrics) series(model, endpoint string) *okSeries {
	k := seriesKey{model, endpoint}
	if p := m.ok.Load(); p != nil {
		if s, ok := (*p)[k]; ok {
			return s
		}
	}
	m.okMu.Lock()
	defer m.okMu.Unlock()
	old := m.ok.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			return s
		}
	}
	next := make(map[seriesKey]*okSeries, 1)
	if old != nil {
		next = make(map[seriesKey]*okSeries, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	s := &okSeries{
		requests:   m.requests.WithLabelValues(model, endpoint, "ok"),
		prompt:     m.tokens.WithLabelValues(model, "prompt"),
		completion: m.tokens.WithLabelValues(model, "completion"),
		cost:       m.cost.WithLabelValues(model),
		latency:    m.latency.WithLabelValues(model, endpoint),
	}
	next[k] = s
	m.ok.Store(&next)
	return s
}

func (m *Metrics) failed(model, endpoint string, err error) {
	outcome := "error"
	if e, ok := apierr.As(err); ok {
		switch e.Kind {
		case apierr.KindTimeout:
			outcome = "timeout"
		case apierr.KindUnavailable:
			outcome = "unavailable"
		case apierr.KindRateLimited:
			outcome = "upstream_rate_limited"
		case apierr.KindInvalid:
			outcome = "invalid"
		}
	}
	m.requests.WithLabelValues(model, endpoint, outcome).Inc()
}

func (m *Metrics) limited(model string, err error) {
	outcome := "rate_limited"
	if e, ok := apierr.As(err); ok && e.Kind == apierr.KindQuota {
		outcome = "quota_exceeded"
	}
	m.requests.WithLabelValues(model, "chat", outcome).Inc()
}
