package ingest_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestHashEmbedderUpgrade: a collection indexed by an older deployment
// (Version 1 hash vectors of 256 dimensions, recorded as
// rampart-hash-embed) keeps answering after the upgrade — its queries are
// embedded with the version of its vectors — and its first search queues
// the re-embed job that moves it to the current version, after which
// queries use the current embedder. New documents in between are embedded
// like the collection's vectors.
func TestHashEmbedderUpgrade(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "ingestion.db"))
	require.NoError(t, err)
	lex := index.NewLexical(filepath.Join(dir, "index"))
	ring := keyring.New(keyvaulttest.Direct{K: keyvaulttest.NewKMS()}, st, 0, 0)
	t.Cleanup(func() { _ = lex.Close(); _ = st.Close() })
	done := make(chan int, 16)
	start := func(e embed.Embedder) (*ingest.Service, context.CancelFunc) {
		svc := ingest.New(ingest.Options{
			Store: st, Ring: ring, Lexical: lex, Vectors: index.NewVectors(0), Embedder: e,
			Fetcher: fetch.New(fetch.Options{}), Chunk: chunk.Options{Tokens: 300, Overlap: 50}, Workers: 1,
			OnJobDone: func(_, _ string, s int) { done <- s },
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = svc.Run(ctx) }()
		return svc, cancel
	}
	ctx := context.Background()
	docs := []string{
		"Certificates of the VPN rotate every 45 days; the gateway refuses expired ones.",
		"Lunch is served at noon in the cafeteria on the second floor.",
		"Expense reports are due on the fifth working day of each month.",
	}
	ingestAll := func(svc *ingest.Service, texts ...string) {
		for _, d := range texts {
			_, _, _, err := svc.Ingest(ctx, "t", ingest.Input{Collection: "kb", Content: []byte(d), ContentType: "text/plain"})
			require.NoError(t, err)
			require.Equal(t, store.JobSucceeded, <-done)
		}
	}
	topVector := func(svc *ingest.Service, q string) string {
		ps, err := svc.SearchMode(ctx, "t", "kb", q, 3, ingest.ModeVector)
		require.NoError(t, err)
		require.NotEmpty(t, ps)
		return ps[0].Text
	}
	collection := func() store.Collection {
		c, err := st.GetCollection(ctx, "t", "kb")
		require.NoError(t, err)
		return c
	}

	// The older deployment.
	old, stop := start(embed.Hash{Dims: 256, Version: 1})
	_, err = old.CreateCollection(ctx, "t", "", nil, "kb", "", "")
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed", collection().EmbeddingModel, "what every collection recorded before versions")
	require.Equal(t, 256, collection().EmbeddingDims)
	ingestAll(old, docs[:2]...)
	require.Equal(t, docs[0], topVector(old, "when do vpn certificates rotate"))
	require.Empty(t, done, "current vectors: no re-embed")
	stop()

	// The upgraded one.
	svc, stop := start(embed.Hash{})
	defer stop()
	ingestAll(svc, docs[2]) // embedded as Version 1, like the rest; queues the upgrade
	require.Equal(t, store.JobSucceeded, <-done, "the re-embed job")
	c := collection()
	require.Equal(t, "rampart-hash-embed@2", c.EmbeddingModel)
	require.Equal(t, embed.DefaultDimensions, c.EmbeddingDims)
	for q, want := range map[string]string{
		"when do vpn certificates rotate": docs[0],
		"where is lunch served":           docs[1],
		"expense report deadline":         docs[2],
	} {
		require.Equal(t, want, topVector(svc, q), q)
	}
	cols, err := svc.ListCollections(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed", store.PublicModel(cols[0].EmbeddingModel))
	_, job, err := svc.UpdateCollection(ctx, "t", "", nil, "kb", "rampart-hash-embed")
	require.NoError(t, err)
	require.Nil(t, job, "already current: nothing to re-embed")
	require.Empty(t, done)
}

// TestHashUpgradeOnSearch: a search of an outdated collection answers
// from its vectors as they are, then queues the upgrade (once).
func TestHashUpgradeOnSearch(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "ingestion.db"))
	require.NoError(t, err)
	lex := index.NewLexical(filepath.Join(dir, "index"))
	ring := keyring.New(keyvaulttest.Direct{K: keyvaulttest.NewKMS()}, st, 0, 0)
	t.Cleanup(func() { _ = lex.Close(); _ = st.Close() })
	done := make(chan int, 16)
	start := func(e embed.Embedder) (*ingest.Service, context.CancelFunc) {
		svc := ingest.New(ingest.Options{
			Store: st, Ring: ring, Lexical: lex, Vectors: index.NewVectors(0), Embedder: e,
			Fetcher: fetch.New(fetch.Options{}), Workers: 1,
			OnJobDone: func(_, _ string, s int) { done <- s },
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = svc.Run(ctx) }()
		return svc, cancel
	}
	ctx := context.Background()
	old, stop := start(embed.Hash{Dims: 256, Version: 1})
	_, err = old.CreateCollection(ctx, "t", "", nil, "kb", "", "")
	require.NoError(t, err)
	for _, d := range []string{"Certificates of the VPN rotate every 45 days.", "Lunch is served at noon."} {
		_, _, _, err := old.Ingest(ctx, "t", ingest.Input{Collection: "kb", Content: []byte(d), ContentType: "text/plain"})
		require.NoError(t, err)
		require.Equal(t, store.JobSucceeded, <-done)
	}
	stop()

	svc, stop := start(embed.Hash{})
	defer stop()
	ps, err := svc.SearchMode(ctx, "t", "kb", "lunch at noon", 2, ingest.ModeVector)
	require.NoError(t, err)
	require.Equal(t, "Lunch is served at noon.", ps[0].Text, "the query is embedded like the stored (Version 1) vectors")
	require.Equal(t, store.JobSucceeded, <-done, "the search queued the re-embed")
	c, err := st.GetCollection(ctx, "t", "kb")
	require.NoError(t, err)
	require.Equal(t, "rampart-hash-embed@2", c.EmbeddingModel)
	ps, err = svc.SearchMode(ctx, "t", "kb", "lunch at noon", 2, ingest.ModeHybrid)
	require.NoError(t, err)
	require.Equal(t, "Lunch is served at noon.", ps[0].Text)
	require.Empty(t, done, "no second upgrade")
}
