package ingest_test

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestIngestPDFAndDOCX runs binary uploads through the whole pipeline:
// sniffed content type, extraction, search with the title and the page or
// heading as citation context; a broken file fails its job with a reason.
func TestIngestPDFAndDOCX(t *testing.T) {
	e := newEnv(t, 1)

	p := fpdf.New("P", "mm", "A4", "")
	p.SetTitle("Remote Access", false)
	p.SetModificationDate(time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	p.SetFont("Helvetica", "", 12)
	p.AddPage()
	p.MultiCell(0, 6, "VPN certificates rotate every 45 days.", "", "", false)
	p.AddPage()
	p.MultiCell(0, 6, "Office hours are nine to five.", "", "", false)
	var pdfBuf bytes.Buffer
	require.NoError(t, p.Output(&pdfBuf))

	var docx bytes.Buffer
	zw := zip.NewWriter(&docx)
	w, err := zw.Create("word/document.xml")
	require.NoError(t, err)
	_, err = w.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
		`<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Parking</w:t></w:r></w:p>` +
		`<w:p><w:r><w:t>Visitors park on level minus two.</w:t></w:r></w:p></w:body></w:document>`))
	require.NoError(t, err)
	require.NoError(t, zw.Close())

	for _, in := range []ingest.Input{
		{Collection: "kb", Content: pdfBuf.Bytes(), Source: "remote.pdf"},
		{Collection: "kb", Content: docx.Bytes(), Source: "facilities.docx"},
	} {
		_, _, _, err := e.svc.Ingest(e.ctx, "t", in)
		require.NoError(t, err)
		require.Equal(t, store.JobSucceeded, <-e.done)
	}

	ps, err := e.svc.Search(e.ctx, "t", "kb", "how often do vpn certificates rotate", 1)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	require.Equal(t, "remote.pdf", ps[0].Source)
	require.Equal(t, "Remote Access", ps[0].Title)
	// Short pages share a chunk; its heading is the page it starts on.
	require.Equal(t, "Page 1", ps[0].Heading)
	require.Contains(t, ps[0].Text, "every 45 days")
	require.Equal(t, time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC), ps[0].UpdatedAt, "the PDF's /ModDate")

	ps, err = e.svc.Search(e.ctx, "t", "kb", "where do visitors park", 1)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	require.Equal(t, "facilities.docx", ps[0].Source)
	require.Equal(t, "Parking", ps[0].Heading)
	require.WithinDuration(t, time.Now(), ps[0].UpdatedAt, time.Minute, "no date in the file: when it was ingested")

	// A truncated PDF is accepted (sniffed) and its job fails with a reason.
	_, job, _, err := e.svc.Ingest(e.ctx, "t", ingest.Input{Collection: "kb", Content: pdfBuf.Bytes()[:pdfBuf.Len()/2], ContentType: "application/pdf"})
	require.NoError(t, err)
	require.Equal(t, store.JobFailed, <-e.done)
	j, err := e.svc.GetJob(e.ctx, "t", job.ID)
	require.NoError(t, err)
	require.Contains(t, j.Error, "malformed document")
}
