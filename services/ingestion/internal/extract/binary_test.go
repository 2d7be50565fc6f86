package extract_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

// pdfFile assembles a PDF from numbered object bodies (1-based), computing
// the xref offsets, so tests can write valid and hostile files by hand.
// The trailer names object 1 as /Root and, when info > 0, /Info.
func pdfFile(objs []string, info int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R", len(objs)+1)
	if info > 0 {
		fmt.Fprintf(&b, " /Info %d 0 R", info)
	}
	fmt.Fprintf(&b, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

func stream(content string, flate bool) string {
	if !flate {
		return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write([]byte(content))
	_ = w.Close()
	return fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", z.Len(), z.String())
}

// simplePDF has one page per content stream, Helvetica (WinAnsi), an Info
// dictionary with a title and dates.
func simplePDF(flate bool, pages ...string) []byte {
	n := len(pages)
	// 1 catalog, 2 pages, 3 font, 4 info, then page/content pairs.
	kids := make([]string, n)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"", // pages, below
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Title (Remote Access Handbook) /ModDate (D:20260314093000+01'00') /CreationDate (D:20250101000000Z) >>",
	}
	for i, p := range pages {
		page, content := 5+2*i, 6+2*i
		kids[i] = fmt.Sprintf("%d 0 R", page)
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", content),
			stream(p, flate))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	return pdfFile(objs, 4)
}

func TestPDF(t *testing.T) {
	page1 := "BT /F1 12 Tf 72 720 Td (VPN certificates rotate) Tj 0 -14 Td (every 45 days.) Tj ET"
	page2 := "BT /F1 12 Tf 72 720 Td [(Split)-250(tunnel) 30 (ling) -300 (is off)] TJ T* (Caf\\351 network) Tj ET"
	for _, flate := range []bool{false, true} {
		t.Run(fmt.Sprint("flate=", flate), func(t *testing.T) {
			d, err := extract.Document(extract.PDF, simplePDF(flate, page1, page2))
			require.NoError(t, err)
			require.Equal(t, "Remote Access Handbook", d.Title)
			require.Equal(t, time.Date(2026, 3, 14, 8, 30, 0, 0, time.UTC), d.UpdatedAt)
			require.Equal(t, []extract.Section{
				{Headings: []string{"Page 1"}, Text: "VPN certificates rotate\nevery 45 days.", Page: 1},
				{Headings: []string{"Page 2"}, Text: "Split tunnelling is off\nCafé network", Start: 40, Page: 2},
			}, d.Sections)
		})
	}
}

// TestPDFFromFPDF reads a file written by another producer (fpdf:
// compressed streams, its own xref and font objects).
func TestPDFFromFPDF(t *testing.T) {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetTitle("Expense Policy", true)
	p.SetModificationDate(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	p.SetFont("Helvetica", "", 12)
	p.AddPage()
	p.MultiCell(0, 6, "Meals are reimbursed up to 40 euros per day.", "", "", false)
	p.AddPage()
	p.MultiCell(0, 6, "Hotels need a receipt.", "", "", false)
	var buf bytes.Buffer
	require.NoError(t, p.Output(&buf))

	d, err := extract.Document(extract.PDF, buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, "Expense Policy", d.Title)
	require.Equal(t, time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), d.UpdatedAt)
	require.Len(t, d.Sections, 2)
	require.Equal(t, "Meals are reimbursed up to 40 euros per day.", d.Sections[0].Text)
	require.Equal(t, []string{"Page 2"}, d.Sections[1].Headings)
	require.Equal(t, "Hotels need a receipt.", d.Sections[1].Text)

	ct, err := extract.Normalize("", buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, extract.PDF, ct)
}

func TestPDFHostile(t *testing.T) {
	valid := simplePDF(true, "BT /F1 12 Tf (hello) Tj ET")
	// A stream of zeros deflates ~1000:1: 300 MiB in ~300 KiB.
	var bomb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&bomb, zlib.BestSpeed)
	zero := make([]byte, 1<<20)
	for range 300 {
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	bombPDF := pdfFile([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", bomb.Len(), bomb.String()),
	}, 0)
	for _, tc := range []struct {
		name string
		data []byte
		err  error
	}{
		{"empty", nil, extract.ErrMalformed},
		{"header only", []byte("%PDF-1.4\n"), extract.ErrMalformed},
		{"truncated", valid[:len(valid)/2], extract.ErrMalformed},
		{"not a pdf", []byte("hello world, this is not a PDF at all %%EOF"), extract.ErrMalformed},
		{"flate bomb", bombPDF, extract.ErrTooLarge},
		{"xref points nowhere", bytes.Replace(valid, []byte("startxref\n"), []byte("startxref\n9"), 1), extract.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Document(extract.PDF, tc.data)
			require.ErrorIs(t, err, tc.err)
		})
	}

	// Structures that loop: the parser's own page lookup never returns on
	// a /Kids cycle; the bounded walk reads no page and ends.
	for _, tc := range []struct {
		name string
		objs []string
	}{
		{"kids cycle", []string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 5 >>",
			"<< /Type /Pages /Kids [2 0 R] /Count 5 >>",
		}},
		{"parent cycle", []string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>",
			"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
			stream("BT /F1 1 Tf (x) Tj ET", false),
		}},
		{"deep nesting", func() []string {
			objs := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
			for i := 2; i < 200; i++ {
				objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", i+1))
			}
			return append(objs, "<< /Type /Page /Contents 999 0 R >>")
		}()},
		{"open hex string", []string{ // found by FuzzPDF; see third_party/pdf/PATCHES.md
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
			stream("BT (hello) Tj <4142", false),
		}},
		{"self-referencing font", []string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			stream("BT /F1 12 Tf (abc) Tj ET", false),
			"<< /Type /Font /Encoding 5 0 R /ToUnicode 5 0 R >>",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = extract.Document(extract.PDF, pdfFile(tc.objs, 0))
			}()
			select {
			case <-done:
			case <-time.After(extract.PDFTimeout + 5*time.Second):
				t.Fatal("extraction did not end")
			}
		})
	}
}

// TestPDFTimeout checks that the deadline ends a parse that keeps going.
func TestPDFTimeout(t *testing.T) {
	old := extract.PDFTimeout
	extract.PDFTimeout = time.Nanosecond
	t.Cleanup(func() { extract.PDFTimeout = old })
	_, err := extract.Document(extract.PDF, simplePDF(false, "BT (x) Tj ET"))
	require.ErrorIs(t, err, extract.ErrTooLarge)
}

func FuzzPDF(f *testing.F) {
	f.Add(simplePDF(false, "BT /F1 12 Tf (hello) Tj ET"))
	f.Add(simplePDF(true, "BT /F1 12 Tf [(a) -300 (b)] TJ ET"))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := extract.Document(extract.PDF, data)
		if err != nil {
			return
		}
		for _, s := range d.Sections {
			require.True(t, strings.ToValidUTF8(s.Text, "") == s.Text, "invalid UTF-8 in %q", s.Text)
		}
	})
}

// docxFile writes a DOCX with the given parts (name → XML).
func docxFile(t testing.TB, parts map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range parts {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

const wNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`

func wp(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

func sampleDOCX(t testing.TB) []byte {
	return docxFile(t, map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + wNS + `><w:body>` +
			wp("Title", "Onboarding") +
			wp("Heading1", "Accounts") +
			wp("", "Laptops are issued on day one.") +
			`<w:p><w:r><w:t>Passwords</w:t></w:r><w:r><w:tab/><w:t>rotate yearly &amp; never by mail.</w:t></w:r></w:p>` +
			wp("Kop2", "Badges") +
			`<w:tbl><w:tr><w:tc>` + wp("", "Cell one") + `</w:tc><w:tc>` + wp("", "Cell two") + `</w:tc></w:tr></w:tbl>` +
			wp("Heading1", "Leave") +
			wp("", "25 days a year.") +
			`</w:body></w:document>`,
		"word/styles.xml": `<?xml version="1.0" encoding="UTF-8"?><w:styles ` + wNS + `>` +
			`<w:style w:type="paragraph" w:styleId="Kop2"><w:name w:val="heading 2"/></w:style></w:styles>`,
		"docProps/core.xml": `<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
			`<dc:title>New Hire Guide</dc:title><dcterms:modified xsi:type="dcterms:W3CDTF">2026-10-02T07:45:00Z</dcterms:modified></cp:coreProperties>`,
	})
}

func TestDOCX(t *testing.T) {
	data := sampleDOCX(t)
	ct, err := extract.Normalize("", data)
	require.NoError(t, err)
	require.Equal(t, extract.DOCX, ct)
	ct, err = extract.Normalize("application/vnd.openxmlformats-officedocument.wordprocessingml.document", data)
	require.NoError(t, err)
	require.Equal(t, extract.DOCX, ct)

	d, err := extract.Document(extract.DOCX, data)
	require.NoError(t, err)
	require.Equal(t, "New Hire Guide", d.Title)
	require.Equal(t, time.Date(2026, 10, 2, 7, 45, 0, 0, time.UTC), d.UpdatedAt)
	require.Equal(t, []extract.Section{
		{Headings: []string{"Accounts"}, Text: "Laptops are issued on day one.\nPasswords rotate yearly & never by mail."},
		{Headings: []string{"Accounts", "Badges"}, Text: "Cell one\nCell two", Start: 73},
		{Headings: []string{"Leave"}, Text: "25 days a year.", Start: 92},
	}, d.Sections)

	// Without core.xml the "Title" paragraph is the title.
	noCore := docxFile(t, map[string]string{"word/document.xml": `<w:document ` + wNS + `><w:body>` + wp("Title", "Fallback") + wp("", "x") + `</w:body></w:document>`})
	d, err = extract.Document(extract.DOCX, noCore)
	require.NoError(t, err)
	require.Equal(t, "Fallback", d.Title)
	require.True(t, d.UpdatedAt.IsZero())

	// A zip that is not a DOCX is not sniffed as one.
	_, err = extract.Normalize("", docxFile(t, map[string]string{"a.txt": "x"}))
	require.ErrorIs(t, err, extract.ErrUnsupported)
}

func TestDOCXHostile(t *testing.T) {
	valid := sampleDOCX(t)
	// 200 MiB of spaces inside a text run: deflates to ~200 KiB.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, err := zw.Create("word/document.xml")
	require.NoError(t, err)
	_, _ = w.Write([]byte(`<w:document ` + wNS + `><w:body><w:p><w:r><w:t>`))
	spaces := bytes.Repeat([]byte(" "), 1<<20)
	for range 200 {
		_, _ = w.Write(spaces)
	}
	require.NoError(t, zw.Close())

	deep := `<w:document ` + wNS + `><w:body>` + strings.Repeat("<w:p>", 100000) + `</w:body></w:document>`
	manyParts := map[string]string{"word/document.xml": `<w:document ` + wNS + `/>`}
	for i := range 10001 {
		manyParts[fmt.Sprintf("p%d", i)] = ""
	}
	for _, tc := range []struct {
		name string
		data []byte
		err  error
	}{
		{"empty", nil, extract.ErrMalformed},
		{"truncated", valid[:len(valid)/2], extract.ErrMalformed},
		{"not a zip", []byte("PK\x03\x04 nope"), extract.ErrMalformed},
		{"no document part", docxFile(t, map[string]string{"word/other.xml": "<x/>"}), extract.ErrMalformed},
		{"zip bomb", bomb.Bytes(), extract.ErrTooLarge},
		{"deeply nested", docxFile(t, map[string]string{"word/document.xml": deep}), extract.ErrTooLarge},
		{"broken XML", docxFile(t, map[string]string{"word/document.xml": `<w:document ` + wNS + `><w:body><w:p>`}), extract.ErrMalformed},
		{"DTD entity", docxFile(t, map[string]string{"word/document.xml": `<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]><w:document ` + wNS + `><w:body><w:p><w:r><w:t>&a;</w:t></w:r></w:p></w:body></w:document>`}), extract.ErrMalformed},
		{"foreign charset", docxFile(t, map[string]string{"word/document.xml": `<?xml version="1.0" encoding="ISO-8859-1"?><w:document ` + wNS + `/>`}), extract.ErrMalformed},
		{"too many parts", docxFile(t, manyParts), extract.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Document(extract.DOCX, tc.data)
			require.ErrorIs(t, err, tc.err)
		})
	}
}

func FuzzDOCX(f *testing.F) {
	f.Add(sampleDOCX(f))
	f.Add(docxFile(f, map[string]string{"word/document.xml": `<w:document ` + wNS + `><w:p><w:r><w:t>a</w:t></w:r></w:p></w:document>`}))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := extract.Document(extract.DOCX, data)
		if err != nil {
			return
		}
		for _, s := range d.Sections {
			require.True(t, strings.ToValidUTF8(s.Text, "") == s.Text)
		}
	})
}

// TestPDFErrorsCarryNoContent: a parse error's text becomes the failed
// job's error, which the store keeps in clear and the tenant reads back;
// the PDF library quotes what it choked on (a malformed hex string came
// with the rest of its 4 KiB read buffer, an unexpected keyword or number
// with itself), so an error must carry none of the file's bytes (security
// review 2026-12-06 evening).
func TestPDFErrorsCarryNoContent(t *testing.T) {
	const canary = "QuillhavenBoardMinutesCanary"
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"malformed hex string in the catalog", pdfFile([]string{"<< /Type /Catalog /Pages <zz " + canary + " and the rest of the minutes> >>"}, 0)},
		{"malformed hex string in the trailer", []byte("%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Info <zz " + canary + "> >>\nstartxref\n9\n%%EOF\n")},
		{"unexpected keyword", pdfFile([]string{"<< /Type /Catalog /Pages 2 0 R >> " + canary + " endobj"}, 0)},
		{"invalid number", pdfFile([]string{"<< /Type /Catalog /Count 12" + canary + " >>"}, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Document(extract.PDF, tc.data)
			if err == nil {
				return // parsed around it: nothing to quote
			}
			require.ErrorIs(t, err, extract.ErrMalformed)
			require.NotContains(t, err.Error(), canary)
			require.NotContains(t, err.Error(), "minutes")
		})
	}
}

// TestDOCXErrorsCarryNoContent: as TestPDFErrorsCarryNoContent for DOCX,
// whose XML decoder quotes entity names and charset labels.
func TestDOCXErrorsCarryNoContent(t *testing.T) {
	const canary = "QuillhavenBoardMinutesCanary"
	for _, doc := range []string{
		`<w:document ` + wNS + `><w:body><w:p><w:r><w:t>a &` + canary + `; b</w:t></w:r></w:p></w:body></w:document>`,
		`<?xml version="1.0" encoding="` + canary + `"?><w:document ` + wNS + `></w:document>`,
		`<w:document ` + wNS + `><w:body><w:p><w:r><w:t>` + canary + `</w:x></w:r></w:p></w:body></w:document>`,
	} {
		_, err := extract.Document(extract.DOCX, docxFile(t, map[string]string{"word/document.xml": doc}))
		require.ErrorIs(t, err, extract.ErrMalformed)
		require.NotContains(t, err.Error(), canary)
	}
}
