package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestSearchCarriesTheKeysLimits (authorization review 7, ADR 0106): a
// search's query is embedded through EmbedForTenant with the searching
// key's own limits from its verified principal (tokens per minute, budget
// and its counter's key, rate pools), so inference charges the key as for
// chat; background jobs carry none. A spent limit is the search's answer
// (ResourceExhausted with inference's refusal: the edge's 429 naming the
// limit), not keyword results. A key whose model list leaves out the
// collection's model still searches it (an admin chose the model). Before
// ADR 0106 no key limits were sent and a refusal fell back to keywords.
func TestSearchCarriesTheKeysLimits(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	admin := h.ctx(t, "acme")
	_, err := c.CreateCollection(admin, &ingestionv1.CreateCollectionRequest{Name: "fleet", EmbeddingModel: fakeModel})
	require.NoError(t, err)
	probes := len(h.inference.embedCalls())
	h.ingest(t, c, "acme", "fleet", "fleet.md", "text/markdown", carDoc)
	for _, call := range h.inference.embedCalls()[probes:] {
		require.Nil(t, call.KeyLimits, "a job is charged to the tenant only")
	}

	ctx, want := narrowKey(t, h, []string{"ingest:read"}, []string{"some-chat-model"})

	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "automobile", TopK: 1, Mode: ingestionv1.SearchMode_SEARCH_MODE_VECTOR})
	require.NoError(t, err, "the collection's model need not be in the key's list")
	require.Empty(t, res.GetWarning())
	require.Len(t, res.GetPassages(), 1)
	calls := h.inference.embedCalls()
	last := calls[len(calls)-1]
	require.Equal(t, "key-narrow", last.Key)
	require.True(t, proto.Equal(want, last.KeyLimits), "got %v", last.KeyLimits)
	require.Equal(t, int64(5000), last.Limits.GetTokensPerMinute(), "and the tenant's, as before")

	// Inference refuses the key's spent limit: the search says so.
	h.inference.setRefuseQueries(spentKeyLimit.Err())
	for _, mode := range []ingestionv1.SearchMode{ingestionv1.SearchMode_SEARCH_MODE_HYBRID, ingestionv1.SearchMode_SEARCH_MODE_VECTOR} {
		_, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "car", Mode: mode})
		requireSpentKeyLimit(t, err, mode.String())
	}
	// Lexical search embeds nothing and still answers.
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "car", Mode: ingestionv1.SearchMode_SEARCH_MODE_LEXICAL})
	require.NoError(t, err)
	require.NotEmpty(t, res.GetPassages())

	// The upstream down is still a keyword search with a warning.
	h.inference.setRefuseQueries(nil)
	h.inference.setDown(true)
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "fleet", Query: "car"})
	require.NoError(t, err)
	require.Contains(t, res.GetWarning(), fakeModel)
}
