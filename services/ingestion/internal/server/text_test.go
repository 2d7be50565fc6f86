package server_test

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// TestDocumentTextServesWhatLocationsIndex: GetDocumentText returns the
// text citation locations index (the file itself for Markdown, CRLF and
// all; the pages' text for a PDF), in ranges of characters, and every
// passage's sentences are at their offsets of the served text
// (docs/adr/0094).
func TestDocumentTextServesWhatLocationsIndex(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	md := "# Café handbook\r\n\r\nWelcome — read this first.\r\n\r\n## VPN\r\n\r\nVPN certificates rotate every 45 days.\r\n"
	mdDoc := h.ingest(t, c, "tenant-a", "kb", "handbook.md", "text/markdown", md).GetDocument().GetId()

	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetFont("Helvetica", "", 12)
	for _, page := range []string{"Expenses are filed within thirty days.", "Travel is booked through the portal."} {
		pdf.AddPage()
		pdf.Cell(40, 10, page)
	}
	var buf bytes.Buffer
	require.NoError(t, pdf.Output(&buf))
	pdfDoc := h.ingest(t, c, "tenant-a", "kb", "policy.pdf", "application/pdf", buf.String()).GetDocument().GetId()

	for _, tc := range []struct {
		doc, query, want string
	}{
		{mdDoc, "VPN certificates rotate", md},
		{pdfDoc, "travel booked portal", "Expenses are filed within thirty days.\n\nTravel is booked through the portal."},
	} {
		full, err := c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: tc.doc})
		require.NoError(t, err)
		require.Equal(t, tc.want, full.GetText())
		require.EqualValues(t, len([]rune(tc.want)), full.GetLength())
		require.EqualValues(t, full.GetLength(), full.GetEnd())
		require.True(t, full.GetDocument().GetTextAvailable())

		res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: tc.query, TopK: 1})
		require.NoError(t, err)
		top := res.GetPassages()[0]
		require.Equal(t, tc.doc, top.GetDocumentId())
		requireLocated(t, full.GetText(), top)
		// the passage's own range, asked for alone
		loc := top.GetLocation()
		part, err := c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: tc.doc, Start: loc.GetStart(), End: proto.Int32(loc.GetEnd())})
		require.NoError(t, err)
		require.Equal(t, string([]rune(tc.want)[loc.GetStart():loc.GetEnd()]), part.GetText())
		require.Equal(t, loc.GetStart(), part.GetStart())
		require.Equal(t, loc.GetEnd(), part.GetEnd())
	}

	// ranges: clipped at the end, refused when backwards or past it
	r, err := c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: mdDoc, Start: 2, End: proto.Int32(1 << 30)})
	require.NoError(t, err)
	require.Equal(t, string([]rune(md)[2:]), r.GetText())
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: mdDoc, Start: 5, End: proto.Int32(4)})
	requireCode(t, err, codes.InvalidArgument, "end")
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: mdDoc, Start: 1 << 20})
	requireCode(t, err, codes.InvalidArgument, "start", "past the end")
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: mdDoc, Start: -1})
	requireCode(t, err, codes.InvalidArgument, "start")
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{})
	requireCode(t, err, codes.InvalidArgument, "document_id")

	// another tenant: as if the document did not exist
	_, err = c.GetDocumentText(h.ctx(t, "tenant-b"), &ingestionv1.GetDocumentTextRequest{DocumentId: mdDoc})
	requireCode(t, err, codes.NotFound)
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: "doc_unknown"})
	requireCode(t, err, codes.NotFound)
}

// TestAddingContentAgainReindexesOldDocuments: a document ingested before
// its text was stored (text and locations NULL, as migrations 00011 and
// 00012 leave it) has no text to serve and says how to get it; adding the
// same content again re-chunks the same document (a reindex job) while its
// chunks stay searchable, after which it is located and served; a third
// add is deduplicated (docs/adr/0094).
func TestAddingContentAgainReindexesOldDocuments(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	_, err := c.CreateCollection(h.ctx(t, "tenant-a"), &ingestionv1.CreateCollectionRequest{Name: "kb"})
	require.NoError(t, err)
	const content = "# Keys\n\nVPN certificates rotate every 45 days.\n\nAPI keys rotate every 90 days.\n"
	first := h.ingest(t, c, "tenant-a", "kb", "keys.md", "text/markdown", content)
	doc := first.GetDocument().GetId()
	h.shutdown()
	db, err := sql.Open("sqlite", filepath.Join(h.dataDir, "ingestion.db"))
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE chunks SET location = NULL`)
	require.NoError(t, err)
	_, err = db.ExecContext(t.Context(), `UPDATE documents SET text = NULL`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	h.start(t, opts{})
	c = h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")

	got, err := c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: doc})
	require.NoError(t, err)
	require.False(t, got.GetDocument().GetTextAvailable())
	_, err = c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: doc})
	requireCode(t, err, codes.FailedPrecondition, "add the same content")
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "VPN certificates", TopK: 1})
	require.NoError(t, err)
	require.Nil(t, res.GetPassages()[0].GetLocation())

	again := h.ingest(t, c, "tenant-a", "kb", "keys.md", "text/markdown", content)
	require.False(t, again.GetDeduplicated(), "re-chunked, not deduplicated")
	require.Equal(t, doc, again.GetDocument().GetId(), "the same document")
	require.Equal(t, ingestionv1.JobKind_JOB_KIND_REINDEX, again.GetJob().GetKind())
	require.NotEqual(t, first.GetJob().GetId(), again.GetJob().GetId())

	got, err = c.GetDocument(ctx, &ingestionv1.GetDocumentRequest{DocumentId: doc})
	require.NoError(t, err)
	require.True(t, got.GetDocument().GetTextAvailable())
	require.Equal(t, ingestionv1.DocumentState_DOCUMENT_STATE_READY, got.GetDocument().GetState())
	text, err := c.GetDocumentText(ctx, &ingestionv1.GetDocumentTextRequest{DocumentId: doc})
	require.NoError(t, err)
	require.Equal(t, content, text.GetText())
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "kb", Query: "VPN certificates", TopK: 5})
	require.NoError(t, err)
	require.NotEmpty(t, res.GetPassages())
	for _, p := range res.GetPassages() {
		requireLocated(t, content, p)
	}
	docs, err := c.ListDocuments(ctx, &ingestionv1.ListDocumentsRequest{Collection: "kb"})
	require.NoError(t, err)
	require.Len(t, docs.GetDocuments(), 1, "no second document")

	third := h.ingest(t, c, "tenant-a", "kb", "keys.md", "text/markdown", content)
	require.True(t, third.GetDeduplicated(), "located now: deduplicated")
	require.Equal(t, again.GetJob().GetId(), third.GetJob().GetId())
	require.True(t, strings.HasPrefix(third.GetDocument().GetId(), "doc_"))
}
