package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/atrest"
)

// scan returns the files under dir whose bytes contain needle.
func scan(t *testing.T, dir, needle string) []string {
	t.Helper()
	var hits []string
	require.NoError(t, atrest.Files(dir, func(p string, b []byte) {
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(needle))) {
			hits = append(hits, filepath.FromSlash(p))
		}
	}))
	return hits
}

// TestEncryptionAtRest: the canary sentence, its source name and its
// vectors never reach the data dir in plaintext, and neither do its words
// or their analysed terms: the lexical index keeps keyed hashes of terms
// in sealed files (internal/index, ADR 0051).
func TestEncryptionAtRest(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "vault"})
	require.NoError(t, err)
	const canary = "Zanzibarcanary launches quixoticprojectname on the ninth"
	const source = "board-minutes-secretfilename.txt"
	r := h.ingest(t, c, "tenant-a", "vault", source, "text/plain", "Some preamble text. "+canary+". Closing words.")
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "vault", Query: "quixoticprojectname launch"})
	require.NoError(t, err)
	require.Contains(t, res.GetPassages()[0].GetText(), canary)
	require.Equal(t, source, res.GetPassages()[0].GetSource())
	// Titles and heading paths are sealed like the text.
	const title, heading = "Heliotrope Merger Plans", "Wolframite Due Diligence"
	h.ingest(t, c, "tenant-a", "vault", "m.md", "text/markdown", "# "+title+"\n\n## "+heading+"\n\nThe counterparty is named here.")
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "vault", Query: "counterparty named", TopK: 1})
	require.NoError(t, err)
	require.Equal(t, title, res.GetPassages()[0].GetTitle())
	require.Equal(t, title+" > "+heading, res.GetPassages()[0].GetHeading())

	h.shutdown() // flush and close everything before scanning
	require.Empty(t, scan(t, h.dataDir, canary), "the sentence is never stored in plaintext")
	require.Empty(t, scan(t, h.dataDir, "preamble text"))
	require.Empty(t, scan(t, h.dataDir, source), "sources are sealed")
	require.Empty(t, scan(t, h.dataDir, title), "titles are sealed")
	require.Empty(t, scan(t, h.dataDir, heading), "heading paths are sealed")
	// the words and their Porter stems (the index's terms), anywhere
	for _, word := range []string{"zanzibarcanary", "zanzibarcanari", "quixoticprojectname", "quixoticproject", "heliotrop", "wolframit", "counterparti"} {
		require.Empty(t, scan(t, h.dataDir, word), "%q on disk", word)
	}
	segs, err := filepath.Glob(filepath.Join(h.app.Lexical.CollectionDir("tenant-a", "vault"), "seg-*"))
	require.NoError(t, err)
	require.NotEmpty(t, segs, "the lexical index was written (sealed)")
	require.NoDirExists(t, h.app.Lexical.LegacyDir("tenant-a", "vault"), "no directory is named after the collection")
	require.NotEmpty(t, scan(t, h.dataDir, "tenant-a"), "the scan does see plaintext (tenant ids are not secret)")
	_ = r
}

// TestCryptoShred: once keyvault destroys the tenant's key, a fresh
// instance (no cached key) cannot read the tenant's chunks; other tenants
// are unaffected. Purge then removes rows and the index directory.
func TestCryptoShred(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	for _, tenant := range []string{"tenant-a", "tenant-b"} {
		_, err := c.CreateCollection(h.ctx(t, tenant), &ingestionv1.CreateCollectionRequest{Name: "kb"})
		require.NoError(t, err)
		h.ingest(t, c, tenant, "kb", "f.txt", "text/plain", "Quarterly revenue grew in the northern region.")
	}
	h.kv.KMS.Shred("tenant-a")
	h.restart(t, opts{})
	c = h.client(t, "edge")
	_, err := c.Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "revenue"})
	requireCode(t, err, codes.FailedPrecondition)
	_, err = c.ListDocuments(h.ctx(t, "tenant-a"), &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	requireCode(t, err, codes.FailedPrecondition)
	res, err := c.Search(h.ctx(t, "tenant-b"), &ingestionv1.SearchRequest{Collection: "kb", Query: "revenue"})
	require.NoError(t, err)
	require.NotEmpty(t, res.GetPassages())

	tenantDir := h.app.Lexical.TenantDir("tenant-a")
	require.DirExists(t, tenantDir)
	require.NoError(t, h.app.Service.Purge(t.Context(), "tenant-a"))
	require.NoDirExists(t, tenantDir)
	cols, err := c.ListCollections(h.ctx(t, "tenant-a"), &ingestionv1.ListCollectionsRequest{})
	require.NoError(t, err)
	require.Empty(t, cols.GetCollections())
}

// TestTemporaryTokenIngestion: a caller-supplied token is
// used for the one fetch and is found nowhere afterwards: not in the data
// dir, not in the logs (access log included), not in job errors.
func TestTemporaryTokenIngestion(t *testing.T) {
	const token = "tmp-canary-token-9d1c7e55b2"
	var seen []string
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "invalid token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body><h1>Wiki</h1><p>The deploy freeze starts on Friday at noon.</p></body></html>"))
	}))
	defer src.Close()

	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)

	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
		Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: src.URL + "/page?sig=abc"}, AccessToken: token,
	})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))
	require.Equal(t, src.URL+"/page", r.GetDocument().GetSource(), "query strings are not kept for citations")
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "wiki", Query: "when does the deploy freeze start"})
	require.NoError(t, err)
	require.Contains(t, res.GetPassages()[0].GetText(), "deploy freeze starts on Friday")
	require.Equal(t, []string{"Bearer " + token}, seen, "sent once, to the source only")

	// A rejected token: the error names the status, never the token (the
	// source even echoes it back in its body).
	_, err = c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
		Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: src.URL + "/other"}, AccessToken: token + "-wrong",
	})
	requireCode(t, err, codes.FailedPrecondition, "401")
	require.NotContains(t, err.Error(), token)

	h.shutdown()
	require.Empty(t, scan(t, h.dataDir, token), "token is not stored")
	require.NotContains(t, h.logs.String(), token, "token is not logged")
	require.Contains(t, h.logs.String(), "IngestDocument", "the access log did record the calls")
}

func TestURLGuardByDefault(t *testing.T) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("internal")) }))
	defer src.Close()
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)
	for _, u := range []string{src.URL, "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/"} {
		_, err = c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: u}})
		requireCode(t, err, codes.InvalidArgument, "url", "not allowed")
	}
}

// TestResumeAfterRestart: a job queued when the process stops is resumed by
// the next instance once the tenant's next call unlocks its data key
// (keyvault unwraps only on the tenant's behalf).
func TestResumeAfterRestart(t *testing.T) {
	h := newHarness(t, opts{noWorkers: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	r, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
		Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("Backups run nightly at two in the morning.")}, ContentType: "text/plain",
	})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_QUEUED, r.GetJob().GetState())

	h.restart(t, opts{})
	c = h.client(t, "edge")
	job, err := c.GetJob(h.ctx(t, "tenant-a"), &ingestionv1.GetJobRequest{JobId: r.GetJob().GetId()})
	require.NoError(t, err)
	require.Contains(t, []ingestionv1.JobState{ingestionv1.JobState_JOB_STATE_QUEUED, ingestionv1.JobState_JOB_STATE_RUNNING, ingestionv1.JobState_JOB_STATE_SUCCEEDED}, job.GetJob().GetState())
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))
	res, err := c.Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "when do backups run"})
	require.NoError(t, err)
	require.Contains(t, res.GetPassages()[0].GetText(), "nightly")
	// the same content again is deduplicated against the resumed document
	again, err := c.IngestDocument(h.ctx(t, "tenant-a"), &ingestionv1.IngestDocumentRequest{
		Collection: "kb", Input: &ingestionv1.IngestDocumentRequest_Content{Content: []byte("Backups run nightly at two in the morning.")}, ContentType: "text/plain",
	})
	require.NoError(t, err)
	require.True(t, again.GetDeduplicated())
}
