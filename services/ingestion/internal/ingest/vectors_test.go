package ingest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestVectorSearchFollowsOwnWrites: once a collection's vectors are
// cached, a document ingested or deleted through this service changes the
// vector leg's answers at once (the in-place path of change; that it does
// not reload is held by internal/index's TestVectorsAddRemoveInPlace).
func TestVectorSearchFollowsOwnWrites(t *testing.T) {
	e := newEnv(t, 1)
	ingestText := func(text string) string {
		d, _, _, err := e.svc.Ingest(e.ctx, "t", ingest.Input{Collection: "kb", Content: []byte(text), ContentType: "text/plain"})
		require.NoError(t, err)
		require.Equal(t, store.JobSucceeded, <-e.done)
		return d.ID
	}
	vector := func(q string) []ingest.Passage {
		ps, err := e.svc.SearchMode(e.ctx, "t", "kb", q, 3, ingest.ModeVector)
		require.NoError(t, err)
		return ps
	}
	ingestText("Office hours are nine to five on weekdays.")
	require.NotEmpty(t, vector("office hours"), "loads the collection's vectors")

	id := ingestText("VPN certificates rotate every forty five days.")
	ps := vector("vpn certificates rotate")
	require.NotEmpty(t, ps)
	require.Equal(t, id, ps[0].DocumentID, "the new document's vector is searched without a reload")

	require.NoError(t, e.svc.DeleteDocument(e.ctx, "t", id))
	for _, p := range vector("vpn certificates rotate") {
		require.NotEqual(t, id, p.DocumentID, "a deleted document's vectors are gone")
	}
}
