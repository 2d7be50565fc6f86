package extract_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		data     string
		err      bool
	}{
		{in: "text/plain; charset=utf-8", want: extract.Plain},
		{in: "text/markdown", want: extract.Markdown},
		{in: "text/x-markdown", want: extract.Markdown},
		{in: "TEXT/HTML; charset=UTF-8", want: extract.HTML},
		{in: "", data: "<!DOCTYPE html><html><body>x</body></html>", want: extract.HTML},
		{in: "", data: "just words", want: extract.Plain},
		{in: "application/pdf", want: extract.PDF},
		{in: "", data: "%PDF-1.4\x00\x01", want: extract.PDF},
		{in: "application/msword", err: true},
		{in: "", data: "\x00\x01\x02binary", err: true},
		{in: ";;;", err: true},
	} {
		t.Run(tc.in+tc.data, func(t *testing.T) {
			got, err := extract.Normalize(tc.in, []byte(tc.data))
			if tc.err {
				require.ErrorIs(t, err, extract.ErrUnsupported)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, ct, in, want string
	}{
		{"plain is the file", extract.Plain, "a\r\nb", "a\r\nb"},
		{"markdown kept", extract.Markdown, "# Title\n\n*bold* text", "# Title\n\n*bold* text"},
		{"html blocks", extract.HTML, "<html><head><title>T</title><style>p{}</style></head><body><h1>Head</h1><p>one  two</p><script>alert(1)</script><p>three</p></body></html>", "one two\nthree"},
		{"html sections joined by blank lines", extract.HTML, "<p>a</p><h2>H</h2><p>b</p>", "a\n\nb"},
		{"html entities", extract.HTML, "<p>fish &amp; chips</p>", "fish & chips"},
		{"html nested skip", extract.HTML, "<p>a</p><noscript><p>hidden</p></noscript><p>b</p>", "a\nb"},
		{"html broken", extract.HTML, "<p>unclosed <b>bold", "unclosed bold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract.Text(tc.ct, []byte(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := extract.Text(extract.Plain, []byte{0xff, 0xfe})
	require.ErrorIs(t, err, extract.ErrNotText)
}

func FuzzHTMLText(f *testing.F) {
	f.Add("<p>hello <b>world</b></p><script>x</script>")
	f.Add("<<<>>></p></script><style>")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := extract.Text(extract.HTML, []byte(s))
		if err != nil {
			return
		}
		require.LessOrEqual(t, len(out), len(s)+1024)
	})
}

func TestDocument(t *testing.T) {
	sec := func(text string, h ...string) extract.Section { return extract.Section{Headings: h, Text: text} }
	for _, tc := range []struct {
		name, ct, in string
		want         extract.Doc
	}{
		{"plain", extract.Plain, "one\r\ntwo", extract.Doc{Sections: []extract.Section{sec("one\ntwo")}}},
		{"plain blank", extract.Plain, " \n ", extract.Doc{}},
		{"html headings", extract.HTML,
			`<html><head><title>git-rebase(1)</title></head><body><p>intro</p><h1>git-rebase(1) Manual Page</h1><h2 id="n">NAME</h2><p>git-rebase - Reapply commits</p>` +
				`<h2>OPTIONS</h2><h3>Empty <code>commits</code></h3><p>a</p><p>b</p><h2>NOTES</h2><script>x</script><p>c</p></body></html>`,
			extract.Doc{Title: "git-rebase(1)", Sections: []extract.Section{
				sec("intro"),
				sec("git-rebase - Reapply commits", "git-rebase(1) Manual Page", "NAME"),
				sec("a\nb", "git-rebase(1) Manual Page", "OPTIONS", "Empty commits"),
				sec("c", "git-rebase(1) Manual Page", "NOTES"),
			}}},
		{"html title from h1", extract.HTML, "<h1>Payments</h1><p>retried</p>",
			extract.Doc{Title: "Payments", Sections: []extract.Section{sec("retried", "Payments")}}},
		{"markdown", extract.Markdown, "intro\n# VPN\n\nCertificates rotate.\n## Renewal ##\nevery 45 days\n```\n# not a heading\n```\n### \n#nospace\n",
			extract.Doc{Title: "VPN", Sections: []extract.Section{
				sec("intro"),
				sec("Certificates rotate.", "VPN"),
				sec("every 45 days\n```\n# not a heading\n```\n### \n#nospace", "VPN", "Renewal"),
			}}},
		{"markdown deeper then shallower", extract.Markdown, "# A\n## B\nx\n# C\ny",
			extract.Doc{Title: "A", Sections: []extract.Section{sec("x", "A", "B"), sec("y", "C")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extract.Document(tc.ct, []byte(tc.in))
			require.NoError(t, err)
			require.Equal(t, tc.want.Title, got.Title)
			require.Equal(t, tc.want.UpdatedAt, got.UpdatedAt)
			require.Len(t, got.Sections, len(tc.want.Sections))
			for i, sec := range got.Sections {
				require.Equal(t, tc.want.Sections[i].Headings, sec.Headings)
				require.Equal(t, tc.want.Sections[i].Text, sec.Text)
			}
			requireSectionsLocated(t, tc.ct, []byte(tc.in), got)
		})
	}
	_, err := extract.Document(extract.Markdown, []byte{0xff})
	require.ErrorIs(t, err, extract.ErrNotText)
	require.Equal(t, "A > B", extract.Section{Headings: []string{"A", "B"}}.HeadingPath())
}

// FuzzDocument: any UTF-8 input yields sections with text, at most six
// headings each, none empty, and no more text than went in.
func FuzzDocument(f *testing.F) {
	f.Add("html", "<title>T</title><h1>A</h1><p>x</p><h3>C</h3><p>y</p><h2></h2>")
	f.Add("md", "# A\n## B\nx\n```\n# no\n```\n####### seven\n")
	f.Add("md", "~~~\n# inside\n")
	f.Add("md", "\r\n# é\r\n\r\n  body\r\r\n")
	f.Fuzz(func(t *testing.T, kind, s string) {
		ct := extract.HTML
		if kind == "md" {
			ct = extract.Markdown
		}
		d, err := extract.Document(ct, []byte(s))
		if err != nil {
			require.ErrorIs(t, err, extract.ErrNotText)
			return
		}
		total := 0
		for _, sec := range d.Sections {
			require.NotEmpty(t, sec.Text)
			require.LessOrEqual(t, len(sec.Headings), 6)
			for _, h := range sec.Headings {
				require.NotEmpty(t, h)
			}
			total += len(sec.Text)
		}
		require.LessOrEqual(t, total, len(s)+1024)
		requireSectionsLocated(t, ct, []byte(s), d)
	})
}

// requireSectionsLocated: every section's location holds its text in the
// document's extracted text (for a text file, the file itself).
func requireSectionsLocated(t *testing.T, ct string, data []byte, d extract.Doc) {
	t.Helper()
	text, err := extract.Text(ct, data)
	require.NoError(t, err)
	runes := []rune(text)
	spans := make([][2]int, len(d.Sections))
	for i, sec := range d.Sections {
		spans[i] = [2]int{sec.Start, sec.Start + len(sec.Text)}
	}
	for i, l := range d.Locate(spans) {
		require.Equal(t, d.Sections[i].Text, strings.ReplaceAll(string(runes[l.Start:l.End]), "\r\n", "\n"), "section %d at %+v", i, l)
	}
}

func TestLocate(t *testing.T) {
	const md = "# Café\r\n\r\nVPN certificates rotate.\r\nEvery 45 days.\n## Laptops\nReplaced yearly."
	d, err := extract.Document(extract.Markdown, []byte(md))
	require.NoError(t, err)
	requireSectionsLocated(t, extract.Markdown, []byte(md), d)
	vpn, laptops := d.Sections[0], d.Sections[1]
	days := vpn.Start + strings.Index(vpn.Text, "Every")
	got := d.Locate([][2]int{
		{vpn.Start, vpn.Start + len("VPN certificates rotate.")},
		{days, vpn.Start + len(vpn.Text)},
		{vpn.Start, laptops.Start + len(laptops.Text)},
	})
	runes := []rune(md)
	require.Equal(t, "VPN certificates rotate.", string(runes[got[0].Start:got[0].End]))
	require.Equal(t, extract.Location{Start: 10, End: 34, LineStart: 3, LineEnd: 3}, got[0], "é is one character, CRs are characters of the file")
	require.Equal(t, "Every 45 days.", string(runes[got[1].Start:got[1].End]))
	require.Equal(t, 4, got[1].LineStart)
	require.Equal(t, extract.Location{Start: 10, End: len(runes), LineStart: 3, LineEnd: 6}, got[2])

	// a span ending in a character of two bytes is still one character
	plain, err := extract.Document(extract.Plain, []byte("Café\nnext"))
	require.NoError(t, err)
	require.Equal(t, []extract.Location{{Start: 0, End: 4, LineStart: 1, LineEnd: 1}}, plain.Locate([][2]int{{0, len("Café")}}))

	pdf, err := extract.Document(extract.PDF, simplePDF(false,
		"BT /F1 12 Tf 72 720 Td (VPN certificates rotate) Tj ET", "BT /F1 12 Tf 72 720 Td (every 45 days.) Tj ET"))
	require.NoError(t, err)
	p1, p2 := pdf.Sections[0], pdf.Sections[1]
	text, err := extract.Text(extract.PDF, simplePDF(false,
		"BT /F1 12 Tf 72 720 Td (VPN certificates rotate) Tj ET", "BT /F1 12 Tf 72 720 Td (every 45 days.) Tj ET"))
	require.NoError(t, err)
	require.Equal(t, "VPN certificates rotate\n\nevery 45 days.", text)
	got = pdf.Locate([][2]int{{p2.Start, p2.Start + len(p2.Text)}, {p1.Start, p2.Start + 5}})
	require.Equal(t, extract.Location{Start: 25, End: 39, Page: 2, PageEnd: 2}, got[0], "no lines in a PDF")
	require.Equal(t, extract.Location{Start: 0, End: 30, Page: 1, PageEnd: 2}, got[1])
}
