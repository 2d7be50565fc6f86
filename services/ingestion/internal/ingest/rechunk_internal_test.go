package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/embed"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/index"
	"github.com/rampart-platform/rampart/services/ingestion/internal/keyring"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// rechunkOpts are small chunks, so the document has several.
var rechunkOpts = chunk.Options{Tokens: 60, Overlap: 10}

// rechunkDoc is Markdown of sections of 60-100 tokens, each with a
// word of its own: the flat windows cut across them, the sections do not.
func rechunkDoc() string {
	var b strings.Builder
	b.WriteString("# Handbook\n\n")
	for n, sec := range []string{"Certificates", "Backups", "Escalation"} {
		fmt.Fprintf(&b, "## %s\n\n", sec)
		for i := range []int{4, 7, 5}[n] {
			fmt.Fprintf(&b, "The %s rule %d says what the on-call engineer does next and when. ", strings.ToLower(sec), i)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

// split is what chunk cuts text into with o.
func split(t *testing.T, text string, o chunk.Options) []string {
	t.Helper()
	x, err := extract.Document(extract.Markdown, []byte(text))
	require.NoError(t, err)
	secs := make([]chunk.Section, len(x.Sections))
	for i, sec := range x.Sections {
		secs[i] = chunk.Section{Heading: sec.HeadingPath(), Text: sec.Text, Start: sec.Start}
	}
	var out []string
	for _, p := range chunk.SplitSections(secs, o) {
		out = append(out, p.Text)
	}
	return out
}

type jobEnd struct {
	id    string
	state int
}

// replica is one ingestion replica on the shared database.
type replica struct {
	svc  *Service
	ring *keyring.Ring
	mu   sync.Mutex
	ends []jobEnd
	stop func()
}

func (r *replica) ended() []jobEnd { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.ends) }

func startReplica(t *testing.T, st *store.Store, kms *keyvaulttest.KMS, name string, o chunk.Options, set func(*Options)) *replica {
	t.Helper()
	lex := index.NewLexical(filepath.Join(t.TempDir(), "index"))
	r := &replica{ring: keyring.New(keyvaulttest.Direct{K: kms}, st, 0, 0)}
	opts := Options{
		Store: st, Ring: r.ring, Lexical: lex, Vectors: index.NewVectors(0), Embedder: embed.Hash{},
		Fetcher: fetch.New(fetch.Options{}), Chunk: o, Workers: 2, Replica: name,
		PollInterval: 20 * time.Millisecond, RechunkInterval: 20 * time.Millisecond,
		OnJobDone: func(_, id string, s int) { r.mu.Lock(); r.ends = append(r.ends, jobEnd{id, s}); r.mu.Unlock() },
	}
	if set != nil {
		set(&opts)
	}
	r.svc = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = r.svc.Run(ctx); close(stopped) }()
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); <-stopped; _ = lex.Close() }) }
	t.Cleanup(r.stop)
	return r
}

// ingestFlat ingests one document of collection "kb" with the flat
// windows (chunker 1), as before ADR 0119, on a replica it then stops, and
// returns the store, KMS, document and that replica's key ring.
func ingestFlat(t *testing.T, content, contentType, source string) (*store.Store, *keyvaulttest.KMS, Document, *keyring.Ring) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ingestion.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	kms := keyvaulttest.NewKMS()
	flat := rechunkOpts
	flat.Flat = true
	old := startReplica(t, st, kms, "old", flat, nil)
	_, err = old.svc.CreateCollection(ctx, "t", "", nil, "kb", "", "")
	require.NoError(t, err)
	d, _, _, err := old.svc.Ingest(ctx, "t", Input{Collection: "kb", Content: []byte(content), ContentType: contentType, Source: source})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(old.ended()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, store.JobSucceeded, old.ended()[0].state)
	old.stop()
	sd, err := st.GetDocument(ctx, "t", d.ID)
	require.NoError(t, err)
	require.Equal(t, 1, sd.Chunker, "the flat windows are chunker 1")
	return st, kms, d, old.ring
}

// oldDocument ingests rechunkDoc with the flat windows and returns the
// store, KMS, document and its chunks.
func oldDocument(t *testing.T) (*store.Store, *keyvaulttest.KMS, Document, []string) {
	t.Helper()
	st, kms, d, ring := ingestFlat(t, rechunkDoc(), "text/markdown", "handbook.md")
	texts := storedTexts(t, st, ring, d.ID)
	flat := rechunkOpts
	flat.Flat = true
	require.Equal(t, split(t, rechunkDoc(), flat), texts)
	require.NotEqual(t, split(t, rechunkDoc(), rechunkOpts), texts, "the sections cut elsewhere")
	return st, kms, d, texts
}

// storedTexts opens a document's stored chunks in order.
func storedTexts(t *testing.T, st *store.Store, ring *keyring.Ring, docID string) []string {
	t.Helper()
	key, err := ring.Get(context.Background(), "t", false)
	require.NoError(t, err)
	chunks, err := st.CollectionChunks(context.Background(), "t", "kb")
	require.NoError(t, err)
	var out []string
	for _, c := range chunks {
		require.Equal(t, docID, c.DocumentID)
		b, err := key.Open(kindText, chunkID(c.DocumentID, c.Seq), c.Text)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

// rechunkJobs are the document's rechunk jobs.
func rechunkJobs(t *testing.T, st *store.Store, docID string) []store.Job {
	t.Helper()
	js, err := st.ListJobs(context.Background(), "t", "kb", 100)
	require.NoError(t, err)
	var out []store.Job
	for _, j := range js {
		if j.Kind == store.KindRechunk && j.DocumentID == docID {
			out = append(out, j)
		}
	}
	return out
}

// TestOldChunkerDocumentsAreRechunked: after an upgrade, a document cut by
// the flat windows is re-chunked by section from its stored text, by one
// of two replicas, without anybody adding it again; both replicas' search
// then finds the new chunks (ADR 0127).
func TestOldChunkerDocumentsAreRechunked(t *testing.T) {
	ctx := context.Background()
	st, kms, d, _ := oldDocument(t)
	a := startReplica(t, st, kms, "a", rechunkOpts, nil)
	b := startReplica(t, st, kms, "b", rechunkOpts, nil)
	require.Zero(t, a.svc.enqueueRechunks(ctx), "nothing is queued for a tenant whose key is not held (suspended, or no call yet)")
	require.Empty(t, rechunkJobs(t, st, d.ID))
	for _, r := range []*replica{a, b} { // the tenant's calls load its key
		_, err := r.svc.Search(ctx, "t", "kb", "escalation rule", 3)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		sd, err := st.GetDocument(ctx, "t", d.ID)
		return err == nil && sd.Chunker == chunk.Current
	}, 10*time.Second, 5*time.Millisecond)
	want := split(t, rechunkDoc(), rechunkOpts)
	require.Equal(t, want, storedTexts(t, st, a.ring, d.ID), "the section chunker's bounds")
	sd, err := st.GetDocument(ctx, "t", d.ID)
	require.NoError(t, err)
	require.Equal(t, [2]int{store.DocReady, len(want)}, [2]int{sd.State, sd.Chunks})
	_, text, err := st.DocumentText(ctx, "t", d.ID)
	require.NoError(t, err)
	require.NotNil(t, text, "the text stays stored")

	js := rechunkJobs(t, st, d.ID)
	require.Len(t, js, 1)
	require.Equal(t, store.JobSucceeded, js[0].State)
	require.Eventually(t, func() bool { return len(a.ended())+len(b.ended()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, []jobEnd{{js[0].ID, store.JobSucceeded}}, append(a.ended(), b.ended()...), "one replica ran it, once")

	for _, r := range []*replica{a, b} { // the other replica's index follows the generation
		ps, err := r.svc.Search(ctx, "t", "kb", "escalation rule on-call", 1)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		require.Contains(t, want, ps[0].Text)
		require.Contains(t, ps[0].Text, "escalation rule")
		require.NotContains(t, ps[0].Text, "backups rule", "a section's chunk, not a window across two")
		require.Equal(t, "Handbook > Escalation", ps[0].Heading)
	}
	left, other, err := st.RechunkBacklog(ctx, chunk.Current, rechunkTypes)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{left, other})
}

// TestFailedRechunkKeepsTheOldChunks: a rechunk job that fails after it
// indexed its new chunks, before its commit, leaves the document ready
// with its old chunks and version, search serves the old chunks, and the
// job is not queued again (ADR 0127).
func TestFailedRechunkKeepsTheOldChunks(t *testing.T) {
	ctx := context.Background()
	st, kms, d, old := oldDocument(t)
	a := startReplica(t, st, kms, "a", rechunkOpts, nil)
	a.svc.beforeCommit = func(r jobRef) error {
		if r.kind == store.KindRechunk {
			return errors.New("the database went away")
		}
		return nil
	}
	_, err := a.svc.Search(ctx, "t", "kb", "escalation rule", 3) // loads the key
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(a.ended()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, store.JobFailed, a.ended()[0].state)

	sd, err := st.GetDocument(ctx, "t", d.ID)
	require.NoError(t, err)
	require.Equal(t, [3]int{store.DocReady, len(old), 1}, [3]int{sd.State, sd.Chunks, sd.Chunker})
	require.Equal(t, old, storedTexts(t, st, a.ring, d.ID))
	ps, err := a.svc.SearchMode(ctx, "t", "kb", "backups rule engineer", 10, ModeLexical)
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	for _, p := range ps {
		require.Contains(t, old, p.Text)
	}
	// the lexical index holds the old chunks again, not the new texts the
	// job indexed under their ids
	for seq, text := range old {
		hits, err := a.svc.o.Lexical.Search("t", "kb", text, 1)
		require.NoError(t, err)
		require.NotEmpty(t, hits)
		require.Equal(t, chunkID(d.ID, seq), hits[0].ID, "chunk %d", seq)
	}

	require.Zero(t, a.svc.enqueueRechunks(ctx), "a failed rechunk is not queued again")
	js := rechunkJobs(t, st, d.ID)
	require.Len(t, js, 1)
	require.Equal(t, store.JobFailed, js[0].State)
	left, other, err := st.RechunkBacklog(ctx, chunk.Current, rechunkTypes)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 1}, [2]int{left, other})
}

// rechunkHTML is rechunkDoc as HTML: its stored text is the sections'
// texts joined, without the headings.
func rechunkHTML() string {
	var b strings.Builder
	b.WriteString("<html><head><title>Handbook</title></head><body><h1>Handbook</h1>")
	for n, sec := range []string{"Certificates", "Backups", "Escalation"} {
		fmt.Fprintf(&b, "<h2>%s</h2><p>", sec)
		for i := range []int{4, 7, 5}[n] {
			fmt.Fprintf(&b, "The %s rule %d says what the on-call engineer does next and when. ", strings.ToLower(sec), i)
		}
		b.WriteString("</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}

// TestOldChunkerHTMLIsRechunkedFromItsOutline: an HTML document cut by the
// flat windows is re-chunked by section from its stored text and outline
// (ADR 0133), as the section chunker cuts the uploaded file, with its
// headings and title; before, it kept its chunks until added again.
func TestOldChunkerHTMLIsRechunkedFromItsOutline(t *testing.T) {
	ctx := context.Background()
	st, kms, d, ring := ingestFlat(t, rechunkHTML(), "text/html", "handbook.html")
	oldTexts := storedTexts(t, st, ring, d.ID)

	// what the section chunker cuts the uploaded file into
	x, err := extract.Document(extract.HTML, []byte(rechunkHTML()))
	require.NoError(t, err)
	secs := make([]chunk.Section, len(x.Sections))
	for i, sec := range x.Sections {
		secs[i] = chunk.Section{Heading: sec.HeadingPath(), Text: sec.Text, Start: sec.Start}
	}
	var want []string
	for _, p := range chunk.SplitSections(secs, rechunkOpts) {
		want = append(want, p.Text)
	}
	require.NotEqual(t, want, oldTexts, "the sections cut elsewhere")
	left, _, err := st.RechunkBacklog(ctx, chunk.Current, rechunkTypes)
	require.NoError(t, err)
	require.Equal(t, 1, left, "the HTML document can be re-chunked")

	a := startReplica(t, st, kms, "a", rechunkOpts, nil)
	_, err = a.svc.Search(ctx, "t", "kb", "escalation rule", 3) // loads the tenant's key
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		sd, err := st.GetDocument(ctx, "t", d.ID)
		return err == nil && sd.Chunker == chunk.Current
	}, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, want, storedTexts(t, st, a.ring, d.ID), "the section chunker's bounds, as for the file")
	ps, err := a.svc.Search(ctx, "t", "kb", "escalation rule on-call", 1)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	require.Contains(t, ps[0].Text, "escalation rule")
	require.NotContains(t, ps[0].Text, "backups rule", "a section's chunk, not a window across two")
	require.Equal(t, "Handbook > Escalation", ps[0].Heading, "the heading the stored text lacks")
	require.Equal(t, "Handbook", ps[0].Title)
	require.NotEmpty(t, ps[0].Spans, "citations still locate the passage")
	_, text, err := st.DocumentText(ctx, "t", d.ID)
	require.NoError(t, err)
	key, err := a.ring.Get(ctx, "t", false)
	require.NoError(t, err)
	plain, err := key.Open(kindExtracted, d.ID, text)
	require.NoError(t, err)
	require.Equal(t, x.Located(), string(plain), "the stored text is unchanged: locations index it")
	left, other, err := st.RechunkBacklog(ctx, chunk.Current, rechunkTypes)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{left, other})
}
