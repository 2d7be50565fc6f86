package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestBleveIndexRebuilt: a collection whose index directory holds a bleve
// index of the format used before ADR 0051 (its index_meta.json) is
// searched after a restart with an index rebuilt from the sealed chunks in
// the database; the bleve files are gone and the new index is written.
func TestBleveIndexRebuilt(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	h.ingest(t, c, "tenant-a", "kb", "backups.txt", "text/plain", "Backups run nightly at two in the morning.")
	dir := h.app.Lexical.LegacyDir("tenant-a", "kb") // where bleve kept it
	h.shutdown()

	// what bleve left: its metadata file and a scorch store
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "store"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index_meta.json"), []byte(`{"storage":"scorch","index_type":"scorch"}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store", "000000000001.zap"), []byte("old segment"), 0o600))

	h.restart(t, opts{})
	c = h.client(t, "edge")
	res, err := c.Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "when do backups run", Mode: ingestionv1.SearchMode_SEARCH_MODE_LEXICAL})
	require.NoError(t, err)
	require.NotEmpty(t, res.GetPassages(), "rebuilt from the database")
	require.Contains(t, res.GetPassages()[0].GetText(), "nightly")
	h.shutdown()
	require.NoDirExists(t, dir, "the bleve files and the directory named after the collection are gone")
	require.FileExists(t, filepath.Join(h.app.Lexical.CollectionDir("tenant-a", "kb"), "MANIFEST"))
}
