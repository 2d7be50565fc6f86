package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestTwoReplicasOnPostgres runs two ingestion instances (each with its own
// data dir, so its own lexical index and vector cache) on one PostgreSQL:
// a document ingested through one is found by a search on the other, also
// after the other had already built its indexes of the collection (the
// collection's generation moved, so it rebuilds from the sealed chunks);
// documents ingested through both at once are each processed once.
func TestTwoReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	h := newHarness(t, opts{databaseURL: pgtest.Start(t)})
	r2 := h.replica(t)
	c1, c2 := h.client(t, "edge"), r2.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")

	_, err := c1.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	h.ingest(t, c1, "tenant-a", "kb", "ships.txt", "text/plain", "The harbour master logs every schooner that docks at the northern quay.")

	search := func(c ingestionv1.IngestionServiceClient, q string) []string {
		t.Helper()
		res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: q, TopK: 5})
		require.NoError(t, err)
		var sources []string
		for _, p := range res.GetPassages() {
			sources = append(sources, p.GetSource())
		}
		return sources
	}
	require.Equal(t, "ships.txt", first(t, search(c2, "schooner quay")), "replica 2 builds its index from the database")

	// Replica 2 ingests; replica 1, whose index of kb is built and current
	// until now, must notice.
	require.Equal(t, "ships.txt", first(t, search(c1, "schooner")))
	h.ingest(t, c2, "tenant-a", "kb", "bees.txt", "text/plain", "Apiarists inspect each beehive for varroa mites before the honey harvest.")
	require.Equal(t, "bees.txt", first(t, search(c1, "varroa beehive")), "replica 1 sees replica 2's document")
	require.Equal(t, "bees.txt", first(t, search(c2, "varroa beehive")))

	// A deletion through replica 1 reaches replica 2's search.
	docs, err := c2.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	require.NoError(t, err)
	for _, d := range docs.GetDocuments() {
		if d.GetSource() == "bees.txt" {
			_, err := c1.DeleteDocument(ctx, &ingestionv1.DeleteDocumentRequest{DocumentId: d.GetId()})
			require.NoError(t, err)
		}
	}
	require.NotContains(t, search(c2, "varroa beehive"), "bees.txt")

	// Many documents through both replicas at once: each job is done once
	// (jobDone fires once per job whichever replica ran it) and every
	// document is searchable on both.
	const n = 12
	jobs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		wg.Go(func() {
			r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "kb", Source: fmt.Sprintf("doc%d.txt", i), ContentType: "text/plain",
				Input: &ingestionv1.IngestDocumentRequest_Content{Content: fmt.Appendf(nil, "Report %d mentions the codeword zephyr%d exactly once.", i, i)}})
			errs[i] = err
			if err == nil {
				jobs[i] = r.GetJob().GetId()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, id := range jobs {
		require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, id))
	}
	for _, id := range jobs {
		select {
		case st := <-h.ch(id):
			t.Fatalf("job %s finished twice (second state %d)", id, st)
		default:
		}
	}
	for i := range n {
		want := fmt.Sprintf("doc%d.txt", i)
		require.Equal(t, want, first(t, search(c1, fmt.Sprintf("zephyr%d", i))))
		require.Equal(t, want, first(t, search(c2, fmt.Sprintf("zephyr%d", i))))
	}
	require.Contains(t, h.logs.String(), "rebuilt a collection's search index")
}

func first(t *testing.T, sources []string) string {
	t.Helper()
	require.NotEmpty(t, sources)
	return sources[0]
}

// TestDeadReplicasJobIsRetaken: a job claimed by a replica that then died
// (its lease is never renewed) is left alone until the lease expires, then
// run by another replica; the dead replica's late commit is refused.
func TestDeadReplicasJobIsRetaken(t *testing.T) {
	h := newHarness(t, opts{noWorkers: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "kb", Source: "orphan.txt", ContentType: "text/plain",
		Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("The lighthouse keeper trims the wick at dusk.")}})
	require.NoError(t, err)
	job := r.GetJob().GetId()

	// The "dead replica" claims it and never comes back.
	const lease = 4 * time.Second
	dead := store.Lease{Tenant: "tenant-a", JobID: job, Holder: store.NewHolder("dead-replica")}
	_, ok, err := h.app.Store.ClaimJob(t.Context(), dead.Tenant, job, dead.Holder, lease)
	require.NoError(t, err)
	require.True(t, ok)
	claimed := time.Now()

	h.restart(t, opts{})                                                             // a replica with workers
	_, err = h.client(t, "edge").GetJob(ctx, &ingestionv1.GetJobRequest{JobId: job}) // the tenant's call unlocks its key here
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, job))
	require.GreaterOrEqual(t, time.Since(claimed), lease, "not taken while the dead replica's lease held")

	_, _, err = h.app.Store.Complete(t.Context(), dead, r.GetDocument().GetId(), store.HashEmbedModel, nil, store.DocMeta{})
	require.ErrorIs(t, err, store.ErrLeaseLost, "the dead replica cannot commit a second result")
	res, err := h.client(t, "edge").Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "lighthouse wick"})
	require.NoError(t, err)
	require.Equal(t, "orphan.txt", first(t, sourcesOf(res)))
}

func sourcesOf(res *ingestionv1.SearchResponse) []string {
	var out []string
	for _, p := range res.GetPassages() {
		out = append(out, p.GetSource())
	}
	return out
}
