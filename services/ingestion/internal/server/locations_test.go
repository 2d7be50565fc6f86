package server_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// squeezed is s with its white space runs as single spaces.
func squeezed(s string) string { return strings.Join(strings.Fields(s), " ") }

// requireLocated: every sentence of p is, white space squeezed, at its
// character offsets of text (the document's extracted text) and on its
// lines, and the passage's location runs from its first sentence to its
// last (docs/adr/0085).
func requireLocated(t *testing.T, text string, p *ingestionv1.Passage) {
	t.Helper()
	runes, ptext := []rune(text), []rune(p.GetText())
	loc := p.GetLocation()
	require.NotNil(t, loc, "passage %s has a location", p.GetChunkId())
	spans := p.GetSpans()
	require.NotEmpty(t, spans)
	require.Equal(t, spans[0].GetLocation().GetStart(), loc.GetStart())
	require.Equal(t, spans[len(spans)-1].GetLocation().GetEnd(), loc.GetEnd())
	var sents []string
	for _, s := range spans {
		sent := string(ptext[s.GetTextStart():s.GetTextEnd()])
		sents = append(sents, sent)
		l := s.GetLocation()
		at := string(runes[l.GetStart():l.GetEnd()])
		require.Equal(t, sent, squeezed(at), "sentence %q at %v", sent, l)
		if l.Line != nil {
			line := 1 + strings.Count(string(runes[:l.GetStart()]), "\n")
			require.Equal(t, line, int(l.GetLine()), "line of %q", sent)
		}
	}
	require.Equal(t, p.GetText(), strings.Join(sents, " "), "the spans are the passage's sentences")
}

// TestSearchLocatesPassages: passages of a Markdown file (CRLF line ends,
// characters outside ASCII) carry character offsets and lines of the file
// itself; a PDF's carry pages and offsets of its extracted text.
func TestSearchLocatesPassages(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)

	var md strings.Builder
	md.WriteString("# Café handbook\r\n\r\nWelcome — read this first.\r\n\r\n## Network\r\n\r\n")
	for i := range 60 {
		fmt.Fprintf(&md, "Rule %d of the network:  routers   reboot after %d hours.\r\n", i, 10+i)
	}
	md.WriteString("\r\n## VPN\r\n\r\nVPN certificates rotate every 45 days.\r\n")
	h.ingest(t, c, "tenant-a", "kb", "handbook.md", "text/markdown", md.String())

	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "routers reboot hours", TopK: 10})
	require.NoError(t, err)
	require.Greater(t, len(res.GetPassages()), 1, "several chunks")
	for _, p := range res.GetPassages() {
		requireLocated(t, md.String(), p)
	}
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "VPN certificates rotate", TopK: 1})
	require.NoError(t, err)
	top := res.GetPassages()[0]
	requireLocated(t, md.String(), top)
	last := top.GetSpans()[len(top.GetSpans())-1].GetLocation()
	require.Equal(t, "VPN certificates rotate every 45 days.", string([]rune(md.String())[last.GetStart():last.GetEnd()]))
	require.EqualValues(t, 70, last.GetLine())
	require.Nil(t, last.Page, "a text file has no pages")

	// A PDF: pages, offsets of the pages' text joined by blank lines, no
	// lines.
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetFont("Helvetica", "", 12)
	for _, page := range []string{"Expenses are filed within thirty days.", "Travel is booked through the portal.", "Taxis need a receipt."} {
		pdf.AddPage()
		pdf.Cell(40, 10, page)
	}
	var buf bytes.Buffer
	require.NoError(t, pdf.Output(&buf))
	h.ingest(t, c, "tenant-a", "kb", "policy.pdf", "application/pdf", buf.String())
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "travel booked portal", TopK: 1})
	require.NoError(t, err)
	top = res.GetPassages()[0]
	require.Equal(t, "policy.pdf", top.GetSource())
	requireLocated(t, "Expenses are filed within thirty days.\n\nTravel is booked through the portal.\n\nTaxis need a receipt.", top)
	for i, s := range top.GetSpans() {
		require.EqualValues(t, i+1, s.GetLocation().GetPage(), "one sentence a page")
		require.Nil(t, s.GetLocation().Line, "a PDF's extracted lines are not the file's")
	}
	require.EqualValues(t, 1, top.GetLocation().GetPage())
	require.EqualValues(t, 3, top.GetLocation().GetPageEnd())
}

// TestChunksBeforeLocationsHaveNone: a chunk stored before locations were
// recorded (NULL, as migration 00011 leaves it) is found with no location
// at all rather than a made-up one.
func TestChunksBeforeLocationsHaveNone(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	_, err := c.CreateCollection(h.ctx(t, "tenant-a"), &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	h.ingest(t, c, "tenant-a", "kb", "vpn.md", "text/markdown", "VPN certificates rotate every 45 days.")
	h.ingest(t, c, "tenant-a", "kb", "keys.md", "text/markdown", "API keys rotate every 90 days.")
	h.shutdown()
	db, err := sql.Open("sqlite", filepath.Join(h.dataDir, "ingestion.db"))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE chunks SET location = NULL WHERE document_id IN (SELECT id FROM documents WHERE content_type = 'text/markdown' AND size_bytes = 38)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	h.start(t, opts{})
	c = h.client(t, "edge")
	res, err := c.Search(h.ctx(t, "tenant-a"), &ingestionv1.SearchRequest{Collection: "kb", Query: "how often do things rotate", TopK: 5})
	require.NoError(t, err)
	require.Len(t, res.GetPassages(), 2)
	for _, p := range res.GetPassages() {
		if strings.Contains(p.GetText(), "VPN") {
			require.Nil(t, p.GetLocation(), "ingested before locations: none")
			require.Empty(t, p.GetSpans())
			continue
		}
		requireLocated(t, "API keys rotate every 90 days.", p)
	}
}
