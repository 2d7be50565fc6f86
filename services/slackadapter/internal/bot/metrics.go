package bot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec // kind, outcome
	replies  *prometheus.CounterVec // outcome
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_slackadapter_requests_total",
			Help: "Slack HTTP requests by kind and outcome."}, []string{"kind", "outcome"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rampart_slackadapter_replies_total",
			Help: "Answers delivered to Slack by outcome."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.replies)
	}
	return m
}
