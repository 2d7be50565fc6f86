package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

func TestStoreScopesAndTransactions(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir()+"/s.db")
	require.NoError(t, err)
	defer st.Close()

	_, err = st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	_, err = st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.ErrorIs(t, err, store.ErrExists)
	_, err = st.CreateCollection(ctx, store.Collection{Tenant: "b", Name: "kb"})
	require.NoError(t, err, "names are per tenant")

	doc := store.Document{Tenant: "a", ID: "d1", Collection: "kb", ContentMAC: []byte("m"), Source: []byte("s"), ContentType: "text/plain", SizeBytes: 3}
	d, j, dedup, err := st.AddDocument(ctx, doc, store.Job{ID: "j1"}, []byte("payload"))
	require.NoError(t, err)
	require.False(t, dedup)
	require.Equal(t, store.JobQueued, j.State)
	require.Equal(t, store.DocProcessing, d.State)

	_, _, _, err = st.AddDocument(ctx, store.Document{Tenant: "a", ID: "d9", Collection: "nope", ContentMAC: []byte("m")}, store.Job{ID: "j9"}, nil)
	require.ErrorIs(t, err, store.ErrNotFound)

	doc2 := doc
	doc2.ID = "d2"
	d, j, dedup, err = st.AddDocument(ctx, doc2, store.Job{ID: "j2"}, []byte("payload"))
	require.NoError(t, err)
	require.True(t, dedup)
	require.Equal(t, "d1", d.ID)
	require.Equal(t, "j1", j.ID)

	// other tenant sees nothing
	_, err = st.GetDocument(ctx, "b", "d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.GetJob(ctx, "b", "j1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.Payload(ctx, "b", "j1")
	require.ErrorIs(t, err, store.ErrNotFound)

	jobs, err := st.UnfinishedJobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1)

	require.NoError(t, st.SetProgress(ctx, "a", "j1", store.JobRunning, 1, 2))
	require.NoError(t, st.Complete(ctx, "a", "j1", "d1", store.HashEmbedModel, []store.Chunk{{DocumentID: "d1", Seq: 0, Text: []byte("t0"), Vector: []byte("v0")}, {DocumentID: "d1", Seq: 1, Text: []byte("t1"), Vector: []byte("v1"), Heading: []byte("h1")}}, []byte("title")))
	_, err = st.Payload(ctx, "a", "j1")
	require.ErrorIs(t, err, store.ErrNotFound, "payload dropped on completion")
	j, err = st.GetJob(ctx, "a", "j1")
	require.NoError(t, err)
	require.Equal(t, store.JobSucceeded, j.State)
	require.Equal(t, 2, j.Done)
	chunks, err := st.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "d1", Seq: 1}, {DocumentID: "d1", Seq: 7}})
	require.NoError(t, err)
	require.Len(t, chunks, 1)
	require.Equal(t, "t1", string(chunks[0].Text))
	require.Equal(t, "h1", string(chunks[0].Heading))
	require.Equal(t, "title", string(chunks[0].Title))
	require.False(t, chunks[0].DocumentCreatedAt.IsZero())
	chunks, err = st.Chunks(ctx, "b", "kb", []store.ChunkRef{{DocumentID: "d1", Seq: 1}})
	require.NoError(t, err)
	require.Empty(t, chunks)

	// a failed document is replaced by a new ingest of the same content
	doc3 := doc
	doc3.ID, doc3.ContentMAC = "d3", []byte("m3")
	_, _, _, err = st.AddDocument(ctx, doc3, store.Job{ID: "j3"}, []byte("p"))
	require.NoError(t, err)
	require.NoError(t, st.Fail(ctx, "a", "j3", "d3", "extract: bad"))
	doc4 := doc3
	doc4.ID = "d4"
	d, _, dedup, err = st.AddDocument(ctx, doc4, store.Job{ID: "j4"}, []byte("p"))
	require.NoError(t, err)
	require.False(t, dedup)
	require.Equal(t, "d4", d.ID)
	_, err = st.GetDocument(ctx, "a", "d3")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, st.DeleteCollection(ctx, "a", "kb"))
	_, err = st.GetDocument(ctx, "a", "d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	n := 0
	require.NoError(t, st.Vectors(ctx, "a", "kb", func(string, int, []byte) error { n++; return nil }))
	require.Zero(t, n, "chunks cascade")
	_, err = st.GetCollection(ctx, "b", "kb")
	require.NoError(t, err)
}
