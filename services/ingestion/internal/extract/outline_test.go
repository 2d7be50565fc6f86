package extract_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

// TestRestore: an HTML, PDF or DOCX document rebuilt from its located text
// and outline is the document extraction gave (headings, pages, offsets,
// title, locations), so it can be re-chunked without its file (ADR 0133);
// its located text alone, extracted again, loses the headings.
func TestRestore(t *testing.T) {
	html := []byte(`<html><head><title>Handbook</title></head><body><p>Intro.</p><h1>Keys</h1><p>Rotate them.</p><h2>Revoking</h2><p>Revoke a leaked key at once.</p></body></html>`)
	for _, tc := range []struct {
		name, contentType string
		data              []byte
	}{
		{"html", extract.HTML, html},
		{"pdf", extract.PDF, simplePDF(true, "BT /F1 12 Tf 72 720 Td (Remote access needs a VPN.) Tj ET", "BT /F1 12 Tf 72 720 Td (Laptops are encrypted.) Tj ET")},
		{"docx", extract.DOCX, sampleDOCX(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.False(t, extract.HasOwnText(tc.contentType))
			d, err := extract.Document(tc.contentType, tc.data)
			require.NoError(t, err)
			require.NotEmpty(t, d.Sections)
			outline, err := d.MarshalOutline()
			require.NoError(t, err)
			got, err := extract.Restore(d.Located(), outline)
			require.NoError(t, err)
			want := d
			want.UpdatedAt = time.Time{}
			require.Equal(t, want.Title, got.Title)
			require.Equal(t, want.Sections, got.Sections)
			require.Equal(t, want.Located(), got.Located())
			spans := make([][2]int, len(d.Sections))
			for i, s := range d.Sections {
				spans[i] = [2]int{s.Start, s.Start + len(s.Text)}
			}
			require.Equal(t, d.Locate(spans), got.Locate(spans), "the same citation locations")
		})
	}
	// what re-chunking had before: the located text as plain text is one
	// section without headings
	d, err := extract.Document(extract.HTML, html)
	require.NoError(t, err)
	plain, err := extract.Document(extract.Plain, []byte(d.Located()))
	require.NoError(t, err)
	require.Len(t, plain.Sections, 1)
	require.Empty(t, plain.Sections[0].Headings)
	require.Greater(t, len(d.Sections), 1)
}

// TestRestoreRefusesABadOutline: an outline that does not fit its text is
// an error, never a panic or a section outside the text.
func TestRestoreRefusesABadOutline(t *testing.T) {
	for _, o := range []string{
		`not json`,
		`{"sections":[{"s":0,"n":50}]}`,
		`{"sections":[{"s":5,"n":2},{"s":0,"n":2}]}`,
		`{"sections":[{"s":-1,"n":2}]}`,
		`{"sections":[{"s":0,"n":-1}]}`,
	} {
		_, err := extract.Restore("short text", []byte(o))
		require.ErrorIs(t, err, extract.ErrBadOutline, o)
	}
	d, err := extract.Restore("short text", []byte(`{"title":"T","sections":[{"h":["A"],"s":6,"n":4,"p":2}]}`))
	require.NoError(t, err)
	require.Equal(t, []extract.Section{{Headings: []string{"A"}, Text: "text", Start: 6, Page: 2}}, d.Sections)
}
