package ingest

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Label values come from fixed sets, never from a request: no tenant,
// collection, document, source, job id or error text is a label (a
// tenant's data, and any string must not mint a series), as in the other
// services (keyvault's metrics.go). Every series is created up front.
var (
	metricKinds = []string{store.KindIngest, store.KindCrawl, store.KindReindex, store.KindRechunk, store.KindReembed, kindOther}
	// metricOutcomes: how a job run ended on this replica. succeeded and
	// failed are final; retry (its embedding model was unavailable: it
	// runs again later), requeued (its tenant was suspended), rerun (the
	// collection's model changed under it), released (shutdown), lease_lost
	// (another replica took it over) and gone (its document or collection
	// was deleted) are not.
	metricOutcomes = []string{outcomeSucceeded, outcomeFailed, "retry", "requeued", "rerun", "released", "lease_lost", "gone"}
	// metricTypes are the content types extraction reads.
	metricTypes = []string{extract.Plain, extract.Markdown, extract.HTML, extract.PDF, extract.DOCX, kindOther}
)

const (
	kindOther        = "other"
	outcomeSucceeded = "succeeded"
	outcomeFailed    = "failed"
)

// Metrics are ingestion's Prometheus metrics, served on the admin port
// with the runtime and gRPC metrics (pkg/backend's registry).
type Metrics struct {
	jobs       *prometheus.CounterVec
	chunks     prometheus.Counter
	extraction *prometheus.CounterVec
	rechunk    *prometheus.GaugeVec
}

// NewMetrics registers ingestion's metrics with reg (nil: unregistered,
// for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_ingestion_jobs_total",
			Help: "Job runs ended on this replica, by kind (ingest, crawl, reindex, rechunk, reembed) and outcome (succeeded, failed; retry, requeued, rerun, released, lease_lost, gone run again or elsewhere).",
		}, []string{"kind", "outcome"}),
		chunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rampart_ingestion_chunks_indexed_total",
			Help: "Chunks committed to the index by document jobs (ingest, reindex, rechunk) on this replica.",
		}),
		extraction: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_ingestion_extraction_failures_total",
			Help: "Documents whose text could not be extracted (malformed, too large, no text), by content type.",
		}, []string{"content_type"}),
		rechunk: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rampart_ingestion_rechunk_backlog_documents",
			Help: "Ready documents of all tenants cut by an older chunker: pending (a rechunk job can take them, queued or not yet) or kept (kept until their content is added again; ADR 0127, 0133).",
		}, []string{"state"}),
	}
	for _, k := range metricKinds {
		for _, o := range metricOutcomes {
			m.jobs.WithLabelValues(k, o)
		}
	}
	for _, t := range metricTypes {
		m.extraction.WithLabelValues(t)
	}
	m.rechunk.WithLabelValues("pending")
	m.rechunk.WithLabelValues("kept")
	if reg != nil {
		reg.MustRegister(m.jobs, m.chunks, m.extraction, m.rechunk)
	}
	return m
}

// oneOf is v when it is in set, else kindOther.
func oneOf(set []string, v string) string {
	if slices.Contains(set, v) {
		return v
	}
	return kindOther
}

// job counts a job run's end.
func (m *Metrics) job(kind, outcome string) {
	if !slices.Contains(metricOutcomes, outcome) {
		outcome = outcomeFailed
	}
	m.jobs.WithLabelValues(oneOf(metricKinds, kind), outcome).Inc()
}

// indexed counts committed chunks.
func (m *Metrics) indexed(n int) { m.chunks.Add(float64(n)) }

// extractionFailed counts a document whose text could not be extracted.
func (m *Metrics) extractionFailed(contentType string) {
	m.extraction.WithLabelValues(oneOf(metricTypes, contentType)).Inc()
}

// rechunkBacklog sets the re-chunk backlog (store.RechunkBacklog).
func (m *Metrics) rechunkBacklog(pending, kept int) {
	m.rechunk.WithLabelValues("pending").Set(float64(pending))
	m.rechunk.WithLabelValues("kept").Set(float64(kept))
}
