package store_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// opener opens another handle ("replica") on one fresh database.
type opener = func(t *testing.T) *store.Store

func TestContract(t *testing.T) {
	cases := []pgtest.Case[*store.Store]{
		{Name: "scopes and transactions", Run: scopesAndTransactions},
		{Name: "OAuth state is consumed once", Run: consumeState},
		{Name: "claims, fencing and lease expiry", Run: claims},
		{Name: "retry delay and attempts", Run: retries},
		{Name: "generation counts chunk changes", Run: generations},
		{Name: "re-embed", Run: reembed},
		{Name: "migrations are idempotent", Run: reopen},
		{Name: "two replicas: no job runs twice", Run: twoReplicasClaim},
		{Name: "crawl jobs and their page jobs", Run: crawlJobs},
		{Name: "a large document's chunks in multi-row inserts", Run: manyChunks},
		{Name: "versions of a source replace each other", Run: sourceVersions},
		{Name: "a document without its text is reindexed", Run: reindex},
		{Name: "documents of an older chunker are re-chunked", Run: rechunk},
	}
	pgtest.RunContract(t, "ingestion", pgtest.Openers[*store.Store]{
		SQLite: func(ctx context.Context, dir string) (*store.Store, error) {
			return store.Open(ctx, filepath.Join(dir, "ingestion.db"))
		},
		Postgres: func(ctx context.Context, url string) (*store.Store, error) {
			return store.OpenPostgres(ctx, url, pstore.DefaultPoolOptions)
		},
	}, cases)
}

// clock is a settable clock shared by the handles of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func addDoc(ctx context.Context, t *testing.T, st *store.Store, tenant, collection, id string) store.Job {
	t.Helper()
	doc := store.Document{Tenant: tenant, ID: id, Collection: collection, ContentMAC: []byte("mac-" + id), Source: []byte("s"), ContentType: "text/plain", SizeBytes: 1}
	_, j, dedup, err := st.AddDocument(ctx, doc, store.Job{ID: "job-" + id}, []byte("payload-"+id))
	require.NoError(t, err)
	require.False(t, dedup)
	return j
}

func scopesAndTransactions(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
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

	// other tenant sees nothing, and cannot claim the job
	_, err = st.GetDocument(ctx, "b", "d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.GetJob(ctx, "b", "j1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.Payload(ctx, "b", "j1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, ok, err := st.ClaimNext(ctx, []string{"b"}, "r1", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a replica only claims jobs of tenants whose keys it holds")
	_, ok, err = st.ClaimJob(ctx, "b", "j1", "r1", time.Minute)
	require.NoError(t, err)
	require.False(t, ok)

	waiting, err := st.WaitingTenants(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, waiting)

	holder := store.NewHolder("r1")
	j, ok, err = st.ClaimNext(ctx, []string{"b", "a"}, holder, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "j1", j.ID)
	l := store.Lease{Tenant: "a", JobID: "j1", Holder: holder}
	require.NoError(t, st.SetProgress(ctx, l, store.JobRunning, 1, 2))
	g, _, err := st.Complete(ctx, l, "d1", store.HashEmbedModel, []store.Chunk{{DocumentID: "d1", Seq: 0, Text: []byte("t0"), Vector: []byte("v0")}, {DocumentID: "d1", Seq: 1, Text: []byte("t1"), Vector: []byte("v1"), Heading: []byte("h1"), Location: []byte("l1")}}, store.DocMeta{Title: []byte("title")})
	require.NoError(t, err)
	require.Equal(t, int64(1), g.N)
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
	require.Equal(t, "l1", string(chunks[0].Location))
	require.Equal(t, "title", string(chunks[0].Title))
	require.False(t, chunks[0].DocumentCreatedAt.IsZero())
	chunks, err = st.Chunks(ctx, "b", "kb", []store.ChunkRef{{DocumentID: "d1", Seq: 1}})
	require.NoError(t, err)
	require.Empty(t, chunks)

	modified := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, st.SetModified(ctx, "a", "d1", modified))
	chunks, err = st.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "d1", Seq: 0}})
	require.NoError(t, err)
	require.Equal(t, modified, chunks[0].DocumentCreatedAt)

	// a failed document is replaced by a new ingest of the same content
	doc3 := doc
	doc3.ID, doc3.ContentMAC = "d3", []byte("m3")
	_, _, _, err = st.AddDocument(ctx, doc3, store.Job{ID: "j3"}, []byte("p"))
	require.NoError(t, err)
	h3 := store.NewHolder("r1")
	_, ok, err = st.ClaimJob(ctx, "a", "j3", h3, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, st.Fail(ctx, store.Lease{Tenant: "a", JobID: "j3", Holder: h3}, "d3", "extract: bad"))
	doc4 := doc3
	doc4.ID = "d4"
	d, _, dedup, err = st.AddDocument(ctx, doc4, store.Job{ID: "j4"}, []byte("p"))
	require.NoError(t, err)
	require.False(t, dedup)
	require.Equal(t, "d4", d.ID)
	_, err = st.GetDocument(ctx, "a", "d3")
	require.ErrorIs(t, err, store.ErrNotFound)

	// tenant keys: the first writer wins
	k, err := st.PutTenantKey(ctx, "a", store.WrappedKey{Blob: []byte("k1"), KMSKeyID: "kms"})
	require.NoError(t, err)
	require.Equal(t, "k1", string(k.Blob))
	k, err = st.PutTenantKey(ctx, "a", store.WrappedKey{Blob: []byte("k2"), KMSKeyID: "kms"})
	require.NoError(t, err)
	require.Equal(t, "k1", string(k.Blob))

	// cursors
	c, err := st.Cursor(ctx, "tenant-events")
	require.NoError(t, err)
	require.Zero(t, c)
	require.NoError(t, st.SetCursor(ctx, "tenant-events", 42))
	require.NoError(t, st.SetCursor(ctx, "tenant-events", 43))
	c, err = st.Cursor(ctx, "tenant-events")
	require.NoError(t, err)
	require.Equal(t, int64(43), c)

	require.NoError(t, st.DeleteCollection(ctx, "a", "kb"))
	_, err = st.GetDocument(ctx, "a", "d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	n := 0
	require.NoError(t, st.Vectors(ctx, "a", "kb", func(string, int, []byte) error { n++; return nil }))
	require.Zero(t, n, "chunks cascade")
	_, err = st.GetCollection(ctx, "b", "kb")
	require.NoError(t, err)

	require.NoError(t, st.DeleteTenant(ctx, "a"))
	_, err = st.TenantKey(ctx, "a")
	require.ErrorIs(t, err, store.ErrNotFound)
}

// consumeState: the state of a pending connection is taken once, by one
// statement, whatever the callers do; a wrong state takes nothing and
// another tenant's call finds nothing.
func consumeState(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	good, bad := sha256.Sum256([]byte("state-1")), sha256.Sum256([]byte("state-2"))
	mk := func(id string) {
		_, err := st.CreateConnection(ctx, store.Connection{Tenant: "a", ID: id, Name: id, AuthEndpoint: "https://p/a", TokenEndpoint: "https://p/t",
			ClientID: "c", RedirectURI: "https://r/cb", StateHash: good[:], Verifier: []byte("sealed-" + id), Scopes: []string{"read", "offline"}})
		require.NoError(t, err)
	}

	mk("con_1")
	_, err := st.ConsumeState(ctx, "a", "con_1", bad[:])
	require.ErrorIs(t, err, store.ErrStateMismatch)
	_, err = st.ConsumeState(ctx, "b", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrNotFound)
	v, err := st.ConsumeState(ctx, "a", "con_1", good[:])
	require.NoError(t, err, "a wrong guess did not spend the state")
	require.Equal(t, "sealed-con_1", string(v))
	_, err = st.ConsumeState(ctx, "a", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrStateUsed, "second use fails although the connection is still pending")
	c, err := st.GetConnection(ctx, "a", "con_1")
	require.NoError(t, err)
	require.Equal(t, store.ConnPending, c.Status)
	require.Equal(t, []string{"read", "offline"}, c.Scopes)
	require.Nil(t, c.StateHash)
	require.Nil(t, c.Verifier, "the sealed verifier is gone with the state")
	require.NoError(t, st.MarkConnected(ctx, "a", "con_1"))
	_, err = st.ConsumeState(ctx, "a", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrConnected)

	// Concurrent double use (through two handles): exactly one winner.
	mk("con_2")
	other := open(t)
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		h := st
		if i%2 == 1 {
			h = other
		}
		wg.Go(func() {
			_, err := h.ConsumeState(ctx, "a", "con_2", good[:])
			results <- err
		})
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, store.ErrStateUsed)
	}
	require.Equal(t, 1, won)

	list, err := st.ListConnections(ctx, "a")
	require.NoError(t, err)
	require.Len(t, list, 2)
	_, err = st.DeleteConnection(ctx, "b", "con_1", true)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.DeleteConnection(ctx, "a", "con_1", true)
	require.NoError(t, err)
}

// claims: a claimed job is nobody else's until its lease expires; the
// holder renews it; once another replica retakes an expired lease, every
// write of the first claim is refused (ErrLeaseLost).
func claims(ctx context.Context, t *testing.T, open opener) {
	clk := newClock()
	r1, r2 := open(t), open(t)
	r1.SetClock(clk.Now)
	r2.SetClock(clk.Now)
	_, err := r1.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	addDoc(ctx, t, r1, "a", "kb", "d1")

	h1, h2 := store.NewHolder("r1"), store.NewHolder("r2")
	require.NotEqual(t, h1, store.NewHolder("r1"), "each claim has its own holder")
	_, ok, err := r1.ClaimJob(ctx, "a", "job-d1", h1, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	l1 := store.Lease{Tenant: "a", JobID: "job-d1", Holder: h1}
	require.NoError(t, r1.SetProgress(ctx, l1, store.JobRunning, 0, 3))

	_, ok, err = r2.ClaimNext(ctx, []string{"a"}, h2, time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the lease holds")
	waiting, err := r2.WaitingTenants(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, waiting, "a leased job's tenant is unlocked too, to take over when the lease expires")

	// renewed before it expires: still held after the first minute
	clk.Add(50 * time.Second)
	require.NoError(t, r1.RenewLease(ctx, l1, time.Minute))
	clk.Add(50 * time.Second)
	_, ok, err = r2.ClaimNext(ctx, []string{"a"}, h2, time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the renewed lease holds")

	// r1 stalls (or dies): its lease expires and r2 retakes the job
	clk.Add(11 * time.Second)
	j, ok, err := r2.ClaimNext(ctx, []string{"a"}, h2, time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "an expired lease is retaken")
	require.Equal(t, "job-d1", j.ID)
	require.Equal(t, store.JobRunning, j.State)

	// r1 wakes up: nothing it writes counts any more
	require.ErrorIs(t, r1.RenewLease(ctx, l1, time.Minute), store.ErrLeaseLost)
	require.ErrorIs(t, r1.SetProgress(ctx, l1, store.JobRunning, 2, 3), store.ErrLeaseLost)
	_, _, err = r1.Complete(ctx, l1, "d1", store.HashEmbedModel, []store.Chunk{{DocumentID: "d1", Text: []byte("stale"), Vector: []byte("v")}}, store.DocMeta{})
	require.ErrorIs(t, err, store.ErrLeaseLost)
	require.ErrorIs(t, r1.Fail(ctx, l1, "d1", "x"), store.ErrLeaseLost)
	require.ErrorIs(t, r1.FailRetryable(ctx, l1, "x", clk.Now()), store.ErrLeaseLost)
	require.NoError(t, r1.ReleaseLease(ctx, l1), "releasing a lost lease is not an error")

	l2 := store.Lease{Tenant: "a", JobID: "job-d1", Holder: h2}
	_, _, err = r2.Complete(ctx, l2, "d1", store.HashEmbedModel, []store.Chunk{{DocumentID: "d1", Text: []byte("good"), Vector: []byte("v")}}, store.DocMeta{})
	require.NoError(t, err)
	chunks, err := r1.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "d1"}})
	require.NoError(t, err)
	require.Len(t, chunks, 1)
	require.Equal(t, "good", string(chunks[0].Text))
	_, ok, err = r1.ClaimNext(ctx, []string{"a"}, store.NewHolder("r1"), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a finished job is never claimed again")
	require.ErrorIs(t, r2.ReleaseLease(ctx, l2), nil)

	// released on shutdown: another replica takes it at once
	addDoc(ctx, t, r1, "a", "kb", "d2")
	h3 := store.NewHolder("r1")
	_, ok, err = r1.ClaimJob(ctx, "a", "job-d2", h3, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, r1.ReleaseLease(ctx, store.Lease{Tenant: "a", JobID: "job-d2", Holder: h3}))
	j, ok, err = r2.ClaimNext(ctx, []string{"a"}, store.NewHolder("r2"), time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "job-d2", j.ID)

	// a deleted document takes its job with it: the claim is lost
	_, _, err = r1.DeleteDocument(ctx, "a", "d2")
	require.NoError(t, err)
	_, _, err = r2.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-d2", Holder: h3}, "d2", store.HashEmbedModel, nil, store.DocMeta{})
	require.ErrorIs(t, err, store.ErrLeaseLost)
}

// retries: a job whose embedding model was unavailable goes back to the
// queue with its attempts counted, and no replica runs it before its delay.
func retries(ctx context.Context, t *testing.T, open opener) {
	clk := newClock()
	st := open(t)
	st.SetClock(clk.Now)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	addDoc(ctx, t, st, "a", "kb", "d1")
	h := store.NewHolder("r1")
	_, ok, err := st.ClaimNext(ctx, []string{"a"}, h, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, st.FailRetryable(ctx, store.Lease{Tenant: "a", JobID: "job-d1", Holder: h}, "model down; retrying", clk.Now().Add(5*time.Minute)))
	j, err := st.GetJob(ctx, "a", "job-d1")
	require.NoError(t, err)
	require.Equal(t, store.JobFailed, j.State)
	require.Equal(t, 1, j.Attempts)
	require.Equal(t, "model down; retrying", j.Error)
	require.True(t, j.Retrying, "failed with its payload kept: not ended")
	_, err = st.Payload(ctx, "a", "job-d1")
	require.NoError(t, err, "the payload is kept for the retry")

	_, ok, err = st.ClaimNext(ctx, []string{"a"}, store.NewHolder("r2"), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "not before its delay")
	clk.Add(5 * time.Minute)
	h2 := store.NewHolder("r2")
	j, ok, err = st.ClaimNext(ctx, []string{"a"}, h2, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, j.Attempts)
	require.NoError(t, st.Fail(ctx, store.Lease{Tenant: "a", JobID: "job-d1", Holder: h2}, "d1", "gave up"))
	j, err = st.GetJob(ctx, "a", "job-d1")
	require.NoError(t, err)
	require.False(t, j.Retrying, "failed for good")
	d, err := st.GetDocument(ctx, "a", "d1")
	require.NoError(t, err)
	require.Equal(t, store.DocFailed, d.State)
}

// generations: every change of a collection's chunks, on any handle,
// moves its generation; a collection created again starts a new epoch.
func generations(ctx context.Context, t *testing.T, open opener) {
	r1, r2 := open(t), open(t)
	c, err := r1.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	got, err := r2.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	g0 := got.Generation
	require.Equal(t, c.CreatedAt.UnixNano(), g0.Epoch)
	require.Zero(t, g0.N)

	complete := func(st *store.Store, id string) store.Generation {
		addDoc(ctx, t, st, "a", "kb", id)
		h := store.NewHolder("r")
		_, ok, err := st.ClaimJob(ctx, "a", "job-"+id, h, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		g, _, err := st.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-" + id, Holder: h}, id, store.HashEmbedModel, []store.Chunk{{DocumentID: id, Text: []byte("t"), Vector: []byte("v")}}, store.DocMeta{})
		require.NoError(t, err)
		return g
	}
	g1 := complete(r1, "d1")
	require.Equal(t, store.Generation{Epoch: g0.Epoch, N: 1}, g1)
	g2 := complete(r2, "d2")
	require.Equal(t, int64(2), g2.N)
	got, err = r1.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.Equal(t, g2, got.Generation, "r1 sees r2's change")
	_, g3, err := r2.DeleteDocument(ctx, "a", "d1")
	require.NoError(t, err)
	require.Equal(t, int64(3), g3.N)

	// purging a connection's documents moves the generation too
	_, err = r1.CreateConnection(ctx, store.Connection{Tenant: "a", ID: "con", Name: "c", AuthEndpoint: "https://p/a", TokenEndpoint: "https://p/t", ClientID: "c", RedirectURI: "https://r/cb"})
	require.NoError(t, err)
	doc := store.Document{Tenant: "a", ID: "d3", Collection: "kb", ContentMAC: []byte("m3"), Source: []byte("s"), ContentType: "text/plain", ConnectionID: "con"}
	_, _, _, err = r1.AddDocument(ctx, doc, store.Job{ID: "j3"}, []byte("p"))
	require.NoError(t, err)
	docs, err := r2.DeleteConnection(ctx, "a", "con", true)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	got, err = r1.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.Greater(t, got.Generation.N, g3.N)

	// created again under the same name: a new epoch, never mistaken for
	// the old collection's state
	require.NoError(t, r1.DeleteCollection(ctx, "a", "kb"))
	time.Sleep(time.Millisecond)
	_, err = r2.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	got, err = r1.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.NotEqual(t, g0.Epoch, got.Generation.Epoch)
}

// reembed: a re-embed replaces every vector and the model at once, and is
// refused (ErrStale) when the chunks changed meanwhile.
func reembed(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	addDoc(ctx, t, st, "a", "kb", "d1")
	h := store.NewHolder("r")
	_, ok, err := st.ClaimJob(ctx, "a", "job-d1", h, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, _, err = st.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-d1", Holder: h}, "d1", store.HashEmbedModel,
		[]store.Chunk{{DocumentID: "d1", Seq: 0, Text: []byte("t0"), Vector: []byte("v0")}, {DocumentID: "d1", Seq: 1, Text: []byte("t1"), Vector: []byte("v1")}}, store.DocMeta{Title: []byte("T")})
	require.NoError(t, err)

	j, err := st.CreateReembedJob(ctx, "a", "kb", "re1", []byte("model"))
	require.NoError(t, err)
	_, err = st.CreateReembedJob(ctx, "a", "kb", "re2", []byte("model"))
	require.ErrorIs(t, err, store.ErrBusy)
	cc, err := st.CollectionChunks(ctx, "a", "kb")
	require.NoError(t, err)
	require.Len(t, cc, 2)
	require.Equal(t, "T", string(cc[0].Title))

	hr := store.NewHolder("r")
	_, ok, err = st.ClaimJob(ctx, "a", j.ID, hr, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	lr := store.Lease{Tenant: "a", JobID: j.ID, Holder: hr}
	_, err = st.CompleteReembed(ctx, lr, "kb", "other", 8, map[store.ChunkRef][]byte{{DocumentID: "d1", Seq: 0}: []byte("w0")})
	require.ErrorIs(t, err, store.ErrStale, "one chunk is missing")
	g, err := st.CompleteReembed(ctx, lr, "kb", "other", 8, map[store.ChunkRef][]byte{{DocumentID: "d1", Seq: 0}: []byte("w0"), {DocumentID: "d1", Seq: 1}: []byte("w1")})
	require.NoError(t, err)
	c, err := st.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.Equal(t, "other", c.EmbeddingModel)
	require.Equal(t, 8, c.EmbeddingDims)
	require.Equal(t, g, c.Generation)
	var vecs []string
	require.NoError(t, st.Vectors(ctx, "a", "kb", func(_ string, _ int, v []byte) error { vecs = append(vecs, string(v)); return nil }))
	require.ElementsMatch(t, []string{"w0", "w1"}, vecs)

	// a document job embedded with the old model is stale now
	addDoc(ctx, t, st, "a", "kb", "d2")
	h2 := store.NewHolder("r")
	_, ok, err = st.ClaimJob(ctx, "a", "job-d2", h2, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, _, err = st.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-d2", Holder: h2}, "d2", store.HashEmbedModel, nil, store.DocMeta{})
	require.ErrorIs(t, err, store.ErrStale)
}

func reopen(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	again := open(t)
	_, err = again.GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.NoError(t, again.Ping(ctx))
}

// twoReplicasClaim: two store handles on one database (two replicas), each
// with several workers, drain a queue of jobs; every job is completed
// exactly once and no claim ever overlaps another on the same job.
func twoReplicasClaim(ctx context.Context, t *testing.T, open opener) {
	replicas := []*store.Store{open(t), open(t)}
	const jobs, workersPerReplica = 60, 3
	_, err := replicas[0].CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	for i := range jobs {
		addDoc(ctx, t, replicas[i%2], "a", "kb", fmt.Sprintf("d%02d", i))
	}
	var (
		mu      sync.Mutex
		running = map[string]string{} // job → holder running it now
		claimed = map[string]int{}
		done    = map[string]int{}
		overlap atomic.Int64
	)
	var wg sync.WaitGroup
	for r, st := range replicas {
		for w := range workersPerReplica {
			wg.Go(func() {
				for {
					h := store.NewHolder(fmt.Sprintf("r%d-w%d", r, w))
					j, ok, err := st.ClaimNext(ctx, []string{"a"}, h, time.Minute)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					if _, busy := running[j.ID]; busy {
						overlap.Add(1)
					}
					running[j.ID] = h
					claimed[j.ID]++
					mu.Unlock()
					l := store.Lease{Tenant: "a", JobID: j.ID, Holder: h}
					if err := st.SetProgress(ctx, l, store.JobRunning, 0, 1); err != nil {
						t.Errorf("progress: %v", err)
						return
					}
					_, _, err = st.Complete(ctx, l, j.DocumentID, store.HashEmbedModel, []store.Chunk{{DocumentID: j.DocumentID, Text: []byte(h), Vector: []byte("v")}}, store.DocMeta{})
					mu.Lock()
					delete(running, j.ID)
					if err == nil {
						done[j.ID]++
					}
					mu.Unlock()
					if err != nil {
						t.Errorf("complete %s: %v", j.ID, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	require.Zero(t, overlap.Load(), "no job was claimed while another claim ran it")
	require.Len(t, done, jobs)
	for id, n := range claimed {
		require.Equal(t, 1, n, "job %s claimed once", id)
		require.Equal(t, 1, done[id], "job %s completed once", id)
	}
	c, err := replicas[1].GetCollection(ctx, "a", "kb")
	require.NoError(t, err)
	require.Equal(t, int64(jobs), c.Generation.N, "one generation per committed document")
	require.Equal(t, int64(jobs), c.Documents)
}

// crawlJobs: a crawl job is claimed like any job, its page jobs name it,
// it ends crawling without ending, and the last page job's end finishes
// it exactly once; a page keeps its Last-Modified for citations.
func crawlJobs(ctx context.Context, t *testing.T, open opener) {
	clk := newClock()
	st := open(t)
	st.SetClock(clk.Now)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	_, err = st.CreateCrawlJob(ctx, "b", "kb", "crawl-x", 10, []byte("p"))
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's collection")
	j, err := st.CreateCrawlJob(ctx, "a", "kb", "crawl-1", 10, []byte("sealed start"))
	require.NoError(t, err)
	require.Equal(t, store.KindCrawl, j.Kind)
	_, err = st.CreateCrawlJob(ctx, "a", "kb", "crawl-2", 10, []byte("p"))
	require.ErrorIs(t, err, store.ErrCrawlBusy)

	h := store.NewHolder("r1")
	claimed, ok, err := st.ClaimJob(ctx, "a", "crawl-1", h, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, store.KindCrawl, claimed.Kind)
	require.Equal(t, 10, claimed.PagesMax)
	l := store.Lease{Tenant: "a", JobID: "crawl-1", Holder: h}
	require.NoError(t, st.SetPages(ctx, l, 1))
	require.ErrorIs(t, st.SetPages(ctx, store.Lease{Tenant: "a", JobID: "crawl-1", Holder: "other"}, 5), store.ErrLeaseLost)

	modified := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	for i, id := range []string{"p1", "p2"} {
		doc := store.Document{Tenant: "a", ID: id, Collection: "kb", ContentMAC: []byte("mac-" + id), Source: []byte("s"), ContentType: "text/html", SizeBytes: 1}
		if i == 0 {
			doc.ModifiedAt = modified
		}
		_, pj, _, err := st.AddDocument(ctx, doc, store.Job{ID: "job-" + id, ParentID: "crawl-1"}, []byte("page"))
		require.NoError(t, err)
		require.Equal(t, store.KindIngest, pj.Kind)
	}
	require.NoError(t, st.SetPages(ctx, l, 2))
	got, err := st.GetJob(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.Equal(t, store.JobRunning, got.State)
	require.Equal(t, 2, got.PagesDone)
	require.Equal(t, 2, got.ChildPending)

	done, err := st.FinishCrawl(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.False(t, done, "still crawling")
	require.NoError(t, st.EndCrawl(ctx, l, 2, "2 pages fetched"))
	_, ok, err = st.ClaimJob(ctx, "a", "crawl-1", store.NewHolder("r2"), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a crawl that ended crawling is not claimed again")
	done, err = st.FinishCrawl(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.False(t, done, "page jobs are unfinished")
	_, err = st.CreateCrawlJob(ctx, "a", "kb", "crawl-2", 10, []byte("p"))
	require.ErrorIs(t, err, store.ErrCrawlBusy, "busy until the page jobs end")

	for _, id := range []string{"p1", "p2"} {
		ph := store.NewHolder("r1")
		_, ok, err := st.ClaimJob(ctx, "a", "job-"+id, ph, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		pl := store.Lease{Tenant: "a", JobID: "job-" + id, Holder: ph}
		if id == "p2" {
			require.NoError(t, st.Fail(ctx, pl, id, "extract: no text"))
		} else {
			_, _, err = st.Complete(ctx, pl, id, store.HashEmbedModel, []store.Chunk{{DocumentID: id, Text: []byte("t"), Vector: []byte("v")}}, store.DocMeta{})
			require.NoError(t, err)
		}
	}
	got, err = st.GetJob(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.Zero(t, got.ChildPending)
	require.Equal(t, 1, got.ChildFailed)
	require.Equal(t, "2 pages fetched", got.Detail)
	done, err = st.FinishCrawl(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.True(t, done)
	done, err = st.FinishCrawl(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.False(t, done, "finished once")
	got, err = st.GetJob(ctx, "a", "crawl-1")
	require.NoError(t, err)
	require.Equal(t, store.JobSucceeded, got.State)

	chunks, err := st.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "p1"}})
	require.NoError(t, err)
	require.Len(t, chunks, 1)
	require.True(t, modified.Equal(chunks[0].DocumentCreatedAt), "Last-Modified is the citation's date: %s", chunks[0].DocumentCreatedAt)

	// A re-embed job is not a crawl and the other way round.
	_, err = st.CreateReembedJob(ctx, "a", "kb", "re-1", []byte("m"))
	require.NoError(t, err)
	_, err = st.CreateCrawlJob(ctx, "a", "kb", "crawl-3", 10, []byte("p"))
	require.NoError(t, err)
	re, err := st.GetJob(ctx, "a", "re-1")
	require.NoError(t, err)
	require.Equal(t, store.KindReembed, re.Kind)
}

// manyChunks: a document of more chunks than one INSERT writes (two full
// batches and a remainder) is stored whole, every chunk with its own
// fields.
func manyChunks(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	addDoc(ctx, t, st, "a", "kb", "d1")
	h := store.NewHolder("r")
	_, ok, err := st.ClaimJob(ctx, "a", "job-d1", h, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	chunks := make([]store.Chunk, 150)
	for i := range chunks {
		chunks[i] = store.Chunk{DocumentID: "d1", Seq: i, Text: fmt.Appendf(nil, "first-t%d", i), Vector: fmt.Appendf(nil, "v%d", i)}
		if i%2 == 0 {
			chunks[i].Heading = fmt.Appendf(nil, "h%d", i)
			chunks[i].Location = fmt.Appendf(nil, "l%d", i)
		}
	}
	_, _, err = st.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-d1", Holder: h}, "d1", store.HashEmbedModel, chunks, store.DocMeta{})
	require.NoError(t, err)
	refs := make([]store.ChunkRef, 150)
	for i := range refs {
		refs[i] = store.ChunkRef{DocumentID: "d1", Seq: i}
	}
	got, err := st.Chunks(ctx, "a", "kb", refs)
	require.NoError(t, err)
	require.Len(t, got, 150)
	bySeq := map[int]store.StoredChunk{}
	for _, c := range got {
		bySeq[c.Seq] = c
	}
	vectors := map[int]string{}
	require.NoError(t, st.Vectors(ctx, "a", "kb", func(doc string, seq int, sealed []byte) error {
		require.Equal(t, "d1", doc)
		vectors[seq] = string(sealed)
		return nil
	}))
	require.Len(t, vectors, 150)
	for i := range 150 {
		c := bySeq[i]
		require.Equal(t, fmt.Sprintf("first-t%d", i), string(c.Text))
		require.Equal(t, fmt.Sprintf("v%d", i), vectors[i])
		if i%2 == 0 {
			require.Equal(t, fmt.Sprintf("h%d", i), string(c.Heading))
			require.Equal(t, fmt.Sprintf("l%d", i), string(c.Location))
		} else {
			require.Empty(t, c.Heading)
			require.Nil(t, c.Location, "no location: NULL, not an empty one")
		}
	}

}

// sourceVersions: documents with the same SourceMAC are versions of one
// source. A new version waits beside the finished one until its job
// commits, which removes the old one (rows, chunks, jobs) in the same
// transaction; an unfinished version is dropped when a newer one arrives;
// documents without a SourceMAC are left alone.
func sourceVersions(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	add := func(id string, src []byte) (store.Document, bool) {
		t.Helper()
		doc := store.Document{Tenant: "a", ID: id, Collection: "kb", ContentMAC: []byte("mac-" + id), Source: []byte("sealed"), ContentType: "text/plain", SizeBytes: 1, SourceMAC: src}
		d, _, dedup, err := st.AddDocument(ctx, doc, store.Job{ID: "job-" + id}, []byte("payload"))
		require.NoError(t, err)
		return d, dedup
	}
	complete := func(id string, chunks int) []store.Document {
		t.Helper()
		h := store.NewHolder("r1")
		_, ok, err := st.ClaimJob(ctx, "a", "job-"+id, h, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		cs := make([]store.Chunk, chunks)
		for i := range cs {
			cs[i] = store.Chunk{DocumentID: id, Seq: i, Text: []byte("t"), Vector: []byte("v")}
		}
		_, replaced, err := st.Complete(ctx, store.Lease{Tenant: "a", JobID: "job-" + id, Holder: h}, id, store.HashEmbedModel, cs, store.DocMeta{Text: []byte("sealed text")})
		require.NoError(t, err)
		return replaced
	}
	ids := func() []string {
		t.Helper()
		ds, err := st.ListDocuments(ctx, "a", "kb")
		require.NoError(t, err)
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		sort.Strings(out)
		return out
	}
	src := []byte("source-mac-1")
	add("v1", src)
	require.Empty(t, complete("v1", 2))
	add("other", nil) // no identity: never replaced
	require.Empty(t, complete("other", 1))

	d, _ := add("v2", src)
	require.Equal(t, src, d.SourceMAC)
	require.Equal(t, []string{"other", "v1", "v2"}, ids(), "the old version stays searchable while the new one is processed")
	add("v3", src)
	require.Equal(t, []string{"other", "v1", "v3"}, ids(), "an unfinished version is dropped by a newer one")
	_, err = st.GetJob(ctx, "a", "job-v2")
	require.ErrorIs(t, err, store.ErrNotFound, "with its job")

	replaced := complete("v3", 1)
	require.Len(t, replaced, 1)
	require.Equal(t, "v1", replaced[0].ID)
	require.Equal(t, 2, replaced[0].Chunks, "the caller removes this many chunks from its indexes")
	require.Equal(t, []string{"other", "v3"}, ids())
	chunks, err := st.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "v1", Seq: 0}, {DocumentID: "v3", Seq: 0}, {DocumentID: "other", Seq: 0}})
	require.NoError(t, err)
	require.Len(t, chunks, 2, "v1's chunks went in the same transaction")
	_, err = st.GetJob(ctx, "a", "job-v1")
	require.ErrorIs(t, err, store.ErrNotFound)

	// the same content again under the same source: unchanged, and a
	// version queued meanwhile is stale
	add("v4", src)
	d, dedup := add("v3", src)
	require.True(t, dedup)
	require.Equal(t, "v3", d.ID)
	require.Equal(t, []string{"other", "v3"}, ids(), "v4 was queued after v3 but v3's content came back")
}

// reindex: the same content added again to a ready document whose text
// is not stored (before migration 00012) queues a reindex job on that
// document, with the payload, instead of deduplicating; while it is
// unfinished a further add returns it; a failed reindex leaves the
// document ready with its chunks; once one commits, the text is there and
// the content is deduplicated again (docs/adr/0094).
func reindex(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, err := st.CreateCollection(ctx, store.Collection{Tenant: "a", Name: "kb"})
	require.NoError(t, err)
	doc := store.Document{Tenant: "a", ID: "d1", Collection: "kb", ContentMAC: []byte("mac"), Source: []byte("sealed"), ContentType: "text/plain", SizeBytes: 1, SourceMAC: []byte{}}
	add := func(jobID string) (store.Document, store.Job, bool) {
		t.Helper()
		d := doc
		d.ID = "d-" + jobID // a fresh id, as ingestion makes one per add
		got, j, dedup, err := st.AddDocument(ctx, d, store.Job{ID: jobID}, []byte("payload-"+jobID))
		require.NoError(t, err)
		require.Equal(t, "d1", got.ID)
		return got, j, dedup
	}
	run := func(jobID string, meta *store.DocMeta) {
		t.Helper()
		h := store.NewHolder("r1")
		_, ok, err := st.ClaimJob(ctx, "a", jobID, h, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		l := store.Lease{Tenant: "a", JobID: jobID, Holder: h}
		if meta == nil {
			require.NoError(t, st.Fail(ctx, l, "", "extract: broken"))
			return
		}
		_, _, err = st.Complete(ctx, l, "d1", store.HashEmbedModel, []store.Chunk{{DocumentID: "d1", Text: []byte("t"), Vector: []byte("v")}}, *meta)
		require.NoError(t, err)
	}
	_, _, dedup, err := st.AddDocument(ctx, doc, store.Job{ID: "j1"}, []byte("payload"))
	require.NoError(t, err)
	require.False(t, dedup)
	run("j1", &store.DocMeta{}) // as before migration 00012: no text

	d, j, dedup := add("j2")
	require.False(t, dedup, "re-chunked")
	require.False(t, d.HasText)
	require.Equal(t, store.KindReindex, j.Kind)
	require.Equal(t, "d1", j.DocumentID)
	p, err := st.Payload(ctx, "a", "j2")
	require.NoError(t, err)
	require.Equal(t, "payload-j2", string(p))
	_, j, dedup = add("j3")
	require.True(t, dedup, "a reindex is queued already")
	require.Equal(t, "j2", j.ID)

	run("j2", nil)
	d, err = st.GetDocument(ctx, "a", "d1")
	require.NoError(t, err)
	require.Equal(t, store.DocReady, d.State, "a failed reindex leaves the document as it was")
	require.Equal(t, 1, d.Chunks)

	_, j, dedup = add("j4")
	require.False(t, dedup, "tried again")
	run("j4", &store.DocMeta{Text: []byte("sealed text")})
	d, text, err := st.DocumentText(ctx, "a", "d1")
	require.NoError(t, err)
	require.True(t, d.HasText)
	require.Equal(t, "sealed text", string(text))
	_, j, dedup = add("j5")
	require.True(t, dedup)
	require.Equal(t, "j4", j.ID)
	ds, err := st.ListDocuments(ctx, "a", "kb")
	require.NoError(t, err)
	require.Len(t, ds, 1)
}

// rechunk: ready documents cut by an older chunker whose stored text is a
// file of a re-chunkable type, or whose outline is stored (ADR 0133), get
// one rechunk job each, at most limit
// unfinished per set of tenants, also when two replicas queue at once;
// a failed one leaves the document, its chunks and its version as they
// were and is not queued again; a committed one records the version; the
// others are counted (ADR 0127).
func rechunk(ctx context.Context, t *testing.T, open opener) {
	st, st2 := open(t), open(t)
	types := []string{"text/plain", "text/markdown"}
	for _, tenant := range []string{"a", "b"} {
		_, err := st.CreateCollection(ctx, store.Collection{Tenant: tenant, Name: "kb"})
		require.NoError(t, err)
	}
	ingest := func(tenant, id, contentType string, meta store.DocMeta) {
		t.Helper()
		doc := store.Document{Tenant: tenant, ID: id, Collection: "kb", ContentMAC: []byte("mac-" + id), Source: []byte("s"), ContentType: contentType, SizeBytes: 1}
		_, _, _, err := st.AddDocument(ctx, doc, store.Job{ID: "job-" + id}, []byte("p"))
		require.NoError(t, err)
		h := store.NewHolder("r1")
		_, ok, err := st.ClaimJob(ctx, tenant, "job-"+id, h, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		_, _, err = st.Complete(ctx, store.Lease{Tenant: tenant, JobID: "job-" + id, Holder: h}, id, store.HashEmbedModel,
			[]store.Chunk{{DocumentID: id, Text: []byte("old"), Vector: []byte("v")}, {DocumentID: id, Seq: 1, Text: []byte("old"), Vector: []byte("v")}}, meta)
		require.NoError(t, err)
	}
	text := store.DocMeta{Text: []byte("sealed text")}
	ingest("a", "md1", "text/markdown", text)
	ingest("a", "txt2", "text/plain", text)
	ingest("a", "html", "text/html", text)                  // its stored text is not the file
	ingest("a", "notext", "text/markdown", store.DocMeta{}) // before migration 00012
	ingest("b", "md3", "text/markdown", text)
	ingest("a", "new", "text/markdown", store.DocMeta{Text: []byte("t"), Chunker: 2})
	ingest("a", "html-outline", "text/html", store.DocMeta{Text: []byte("sealed text"), Outline: []byte("sealed outline")}) // ADR 0133
	outline, err := st.DocumentOutline(ctx, "a", "html-outline")
	require.NoError(t, err)
	require.Equal(t, "sealed outline", string(outline))
	outline, err = st.DocumentOutline(ctx, "a", "html")
	require.NoError(t, err)
	require.Nil(t, outline, "none stored")
	_, err = st.DocumentOutline(ctx, "a", "missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	d, err := st.GetDocument(ctx, "a", "md1")
	require.NoError(t, err)
	require.Equal(t, 1, d.Chunker, "Complete without a version records 1")
	d, err = st.GetDocument(ctx, "a", "new")
	require.NoError(t, err)
	require.Equal(t, 2, d.Chunker)

	ok, other, err := st.RechunkBacklog(ctx, 2, types)
	require.NoError(t, err)
	require.Equal(t, [2]int{4, 2}, [2]int{ok, other}, "md1, txt2, md3 and html-outline can be re-chunked; html and notext cannot")

	// two replicas queue at once: one job per document, at most limit
	var wg sync.WaitGroup
	var queued atomic.Int64
	for _, s := range []*store.Store{st, st2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.EnqueueRechunks(ctx, []string{"a"}, 2, 1, types)
			assert.NoError(t, err)
			queued.Add(int64(n))
		}()
	}
	wg.Wait()
	pending := func(tenant string) []store.Job {
		t.Helper()
		js, err := st.ListJobs(ctx, tenant, "", 100)
		require.NoError(t, err)
		var out []store.Job
		for _, j := range js {
			if j.Kind == store.KindRechunk && j.State == store.JobQueued {
				out = append(out, j)
			}
		}
		return out
	}
	js := pending("a")
	require.Len(t, js, 1, "the limit holds across replicas on one database")
	require.EqualValues(t, 1, queued.Load())
	require.Equal(t, store.RechunkJobID(2, "md1"), js[0].ID, "oldest first")
	require.Equal(t, "md1", js[0].DocumentID)
	n, err := st.EnqueueRechunks(ctx, []string{"a"}, 2, 1, types)
	require.NoError(t, err)
	require.Zero(t, n, "no room while one is unfinished")
	require.Empty(t, pending("b"), "b's key is not held: its documents wait")

	// a failed rechunk leaves the document as it was, and is not retried
	claim := func(tenant, id string) store.Lease {
		t.Helper()
		h := store.NewHolder("r2")
		j, ok, err := st2.ClaimNext(ctx, []string{tenant}, h, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, id, j.ID)
		p, err := st2.Payload(ctx, tenant, id)
		require.NoError(t, err)
		require.Equal(t, store.RechunkPayload, p)
		return store.Lease{Tenant: tenant, JobID: id, Holder: h}
	}
	require.NoError(t, st2.Fail(ctx, claim("a", js[0].ID), "", "extract: broken"))
	d, err = st.GetDocument(ctx, "a", "md1")
	require.NoError(t, err)
	require.Equal(t, [3]int{store.DocReady, 2, 1}, [3]int{d.State, d.Chunks, d.Chunker})
	chunks, err := st.Chunks(ctx, "a", "kb", []store.ChunkRef{{DocumentID: "md1", Seq: 0}, {DocumentID: "md1", Seq: 1}})
	require.NoError(t, err)
	require.Len(t, chunks, 2)
	require.Equal(t, "old", string(chunks[0].Text))

	n, err = st2.EnqueueRechunks(ctx, []string{"a", "b"}, 2, 2, types)
	require.NoError(t, err)
	require.Equal(t, 2, n, "txt2 and md3, not md1 again")
	ok, other, err = st.RechunkBacklog(ctx, 2, types)
	require.NoError(t, err)
	require.Equal(t, [2]int{3, 3}, [2]int{ok, other}, "md1's failure counts with those that cannot")

	// a committed one replaces the chunks and records the version
	l := claim("a", store.RechunkJobID(2, "txt2"))
	_, _, err = st2.Complete(ctx, l, "txt2", store.HashEmbedModel, []store.Chunk{{DocumentID: "txt2", Text: []byte("new"), Vector: []byte("v")}}, store.DocMeta{Text: []byte("sealed text"), Chunker: 2})
	require.NoError(t, err)
	d, err = st.GetDocument(ctx, "a", "txt2")
	require.NoError(t, err)
	require.Equal(t, [3]int{store.DocReady, 1, 2}, [3]int{d.State, d.Chunks, d.Chunker})
	n, err = st.EnqueueRechunks(ctx, []string{"a"}, 2, 5, types)
	require.NoError(t, err)
	require.Equal(t, 1, n, "html-outline: an HTML document with its outline")
	require.Equal(t, "html-outline", pending("a")[0].DocumentID)
	l = claim("a", store.RechunkJobID(2, "html-outline"))
	_, _, err = st2.Complete(ctx, l, "html-outline", store.HashEmbedModel, []store.Chunk{{DocumentID: "html-outline", Text: []byte("new"), Vector: []byte("v")}}, store.DocMeta{Text: []byte("sealed text"), Outline: []byte("outline 2"), Chunker: 2})
	require.NoError(t, err)
	outline, err = st.DocumentOutline(ctx, "a", "html-outline")
	require.NoError(t, err)
	require.Equal(t, "outline 2", string(outline), "the commit replaces the outline with the text")
	n, err = st.EnqueueRechunks(ctx, []string{"a"}, 2, 5, types)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left of a's")

	// the same content added again re-chunks a document of an older
	// chunker that no rechunk job can take (ADR 0094's reindex)
	doc := store.Document{Tenant: "a", ID: "html-again", Collection: "kb", ContentMAC: []byte("mac-html"), Source: []byte("s"), ContentType: "text/html", SizeBytes: 1, Chunker: 2}
	got, j, dedup, err := st.AddDocument(ctx, doc, store.Job{ID: "again"}, []byte("p"))
	require.NoError(t, err)
	require.False(t, dedup)
	require.Equal(t, "html", got.ID)
	require.Equal(t, store.KindReindex, j.Kind)
	doc.ContentMAC, doc.ID = []byte("mac-new"), "new-again"
	_, _, dedup, err = st.AddDocument(ctx, doc, store.Job{ID: "again2"}, []byte("p"))
	require.NoError(t, err)
	require.True(t, dedup, "a document of the current chunker is deduplicated")
}
