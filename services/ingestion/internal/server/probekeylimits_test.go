package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestCollectionProbeCarriesTheKeysLimits (ADR 0111 §4): creating a
// collection on an inference model, or switching one to it, embeds one
// probe text while the caller waits; like a search's query (ADR 0106) it
// carries the key's own limits from its verified principal, and a spent
// limit is the call's answer (ResourceExhausted with inference's refusal:
// the edge's 429 naming the limit and Retry-After), not a 503. Before, the
// probe carried only the tenant's limits and the key's were never charged.
func TestCollectionProbeCarriesTheKeysLimits(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx, want := narrowKey(t, h, []string{"ingest:read", "ingest:write"}, []string{fakeModel})
	lastProbe := func() fakeEmbedCall {
		calls := h.inference.embedCalls()
		require.NotEmpty(t, calls)
		return calls[len(calls)-1]
	}

	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	probe := lastProbe()
	require.Equal(t, "key-narrow", probe.Key)
	require.True(t, proto.Equal(want, probe.KeyLimits), "create's probe: got %v", probe.KeyLimits)

	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "local"})
	require.NoError(t, err)
	n := len(h.inference.embedCalls())
	_, err = c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "local", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	require.Greater(t, len(h.inference.embedCalls()), n, "the update probed the model")
	probe = h.inference.embedCalls()[n]
	require.True(t, proto.Equal(want, probe.KeyLimits), "update's probe: got %v", probe.KeyLimits)

	// Inference refuses the key's spent limit: create and update say so.
	h.inference.setRefuseQueries(spentKeyLimit.Err())
	_, errCreate := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "spent", EmbeddingModel: fakeModel})
	_, err = c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "local2"})
	require.NoError(t, err)
	_, errUpdate := c.UpdateCollection(ctx, &ingestionv1.UpdateCollectionRequest{Collection: "local2", EmbeddingModel: fakeModel})
	requireSpentKeyLimit(t, errCreate, "create")
	requireSpentKeyLimit(t, errUpdate, "update")
	list, err := c.ListCollections(ctx, &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	for _, col := range list.GetCollections() {
		require.NotEqual(t, "spent", col.GetName(), "a refused probe creates nothing")
		if col.GetName() == "local2" {
			require.NotEqual(t, fakeModel, col.GetEmbeddingModel(), "a refused probe switches nothing")
		}
	}
}
