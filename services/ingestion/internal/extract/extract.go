package extract

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Content types the pipeline understands.
const (
	Plain    = "text/plain"
	Markdown = "text/markdown"
	HTML     = "text/html"
	PDF      = "application/pdf"
	DOCX     = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

// Binary reports whether a (normalized) content type is a binary format,
// which is not checked for UTF-8 before extraction.
func Binary(contentType string) bool { return contentType == PDF || contentType == DOCX }

// ErrUnsupported is returned for a content type the pipeline cannot read.
var ErrUnsupported = errors.New("unsupported content type")

// ErrNotText is returned when the content is not valid UTF-8 text.
var ErrNotText = errors.New("content is not UTF-8 text")

// Normalize maps a Content-Type header value (with parameters, aliases) to
// one of Plain, Markdown, HTML, PDF or DOCX; "" sniffs data (a zip is a
// DOCX when it holds word/document.xml).
func Normalize(contentType string, data []byte) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(data)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrUnsupported, contentType)
	}
	switch mt {
	case Plain:
		return Plain, nil
	case Markdown, "text/x-markdown":
		return Markdown, nil
	case HTML, "application/xhtml+xml":
		return HTML, nil
	case PDF, "application/x-pdf":
		return PDF, nil
	case DOCX:
		return DOCX, nil
	case "application/zip", "application/octet-stream":
		if isDOCX(data) {
			return DOCX, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want text/plain, text/markdown, text/html, application/pdf or a DOCX)", ErrUnsupported, mt)
}

// Section is a run of text under one heading path.
type Section struct {
	// Headings is the path of headings above the text, outermost first
	// (empty before the first heading and for plain text).
	Headings []string
	Text     string
	// Start is the byte offset of Text in the document's located text
	// (see Doc.Locate): Text is the located text's [Start, Start+len(Text)).
	Start int
	// Page is the section's page, from 1, in a paged format (PDF); 0 in
	// the others.
	Page int
}

// Doc is extracted text with its structure.
type Doc struct {
	// Title is the HTML <title> or, failing that, the first top-level
	// heading ("" when there is none); for PDF the Info /Title, for DOCX
	// core.xml's dc:title.
	Title    string
	Sections []Section
	// UpdatedAt is when the document says it was last modified (PDF
	// /ModDate, DOCX dcterms:modified); zero when it does not say.
	UpdatedAt time.Time
	// text is what Sections' Start index, crs and lines say how it maps
	// to the file (see Locate).
	text  string
	crs   []int
	lines bool
}

// HeadingPath joins a section's headings for display and indexing.
func (s Section) HeadingPath() string { return strings.Join(s.Headings, " > ") }

// Text is the document's extracted text, the text Locate's character
// offsets index: the file itself for plain text and Markdown, the
// sections' texts joined by blank lines for HTML, PDF and DOCX.
func Text(contentType string, data []byte) (string, error) {
	d, err := Document(contentType, data)
	if err != nil {
		return "", err
	}
	return d.Located(), nil
}

// Located is the document's extracted text (see Text): the text Locate's
// character offsets index, with the CRs of CRLF line ends put back.
func (d Doc) Located() string {
	if len(d.crs) == 0 {
		return d.text
	}
	var b strings.Builder
	b.Grow(len(d.text) + len(d.crs))
	prev := 0
	for _, o := range d.crs {
		b.WriteString(d.text[prev:o])
		b.WriteByte('\r')
		prev = o
	}
	b.WriteString(d.text[prev:])
	return b.String()
}

// Document extracts text and its heading structure: HTML h1–h6 and
// Markdown ATX headings (# …) start sections; plain text is one section;
// a PDF has a section per page ("Page N"), a DOCX sections at its heading
// paragraphs. Binary formats are parsed within the limits of pdf.go and
// docx.go and fail with ErrMalformed or ErrTooLarge.
func Document(contentType string, data []byte) (Doc, error) {
	switch contentType {
	case PDF:
		d, err := pdfDoc(data)
		return d.joined(), err
	case DOCX:
		d, err := docxDoc(data)
		return d.joined(), err
	}
	if !utf8.Valid(data) {
		return Doc{}, ErrNotText
	}
	switch contentType {
	case Plain:
		text, crs := lf(data)
		t := strings.TrimSpace(text)
		if t == "" {
			return Doc{}, nil
		}
		start := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
		return Doc{Sections: []Section{{Text: t, Start: start}}, text: text, crs: crs, lines: true}, nil
	case Markdown:
		text, crs := lf(data)
		d := markdownDoc(text)
		d.text, d.crs, d.lines = text, crs, true
		return d, nil
	case HTML:
		d := htmlDoc(data)
		out := Doc{Title: d.Title}
		for _, sec := range d.Sections {
			if sec.Text != "" {
				out.Sections = append(out.Sections, sec.Section)
			}
		}
		if out.Title == "" {
			out.Title = d.firstH1
		}
		return out.joined(), nil
	}
	return Doc{}, fmt.Errorf("%w: %q", ErrUnsupported, contentType)
}

// lf is data with its CRLF line ends read as LF, and the offsets in that
// text of the LFs whose CR was dropped (Locate adds them back, so a
// location indexes the file itself).
func lf(data []byte) (string, []int) {
	if !bytes.Contains(data, []byte("\r\n")) {
		return string(data), nil
	}
	var crs []int
	out := make([]byte, 0, len(data))
	for i, c := range data {
		if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			crs = append(crs, len(out))
			continue
		}
		out = append(out, c)
	}
	return string(out), crs
}

// joined sets the located text of a format without a text file of its own
// (HTML, PDF, DOCX): the sections' texts joined by blank lines.
func (d Doc) joined() Doc {
	var b strings.Builder
	for i := range d.Sections {
		if i > 0 {
			b.WriteString("\n\n")
		}
		d.Sections[i].Start = b.Len()
		b.WriteString(d.Sections[i].Text)
	}
	d.text = b.String()
	return d
}

// markdownDoc splits Markdown at ATX headings outside fenced code blocks.
func markdownDoc(text string) Doc {
	var d Doc
	var path [6]string
	var body []string
	at, bodyAt := 0, 0 // offsets of the line read and of body's first line
	flush := func() {
		joined := strings.Join(body, "\n")
		t := strings.TrimSpace(joined)
		body = body[:0]
		if t == "" {
			return
		}
		start := bodyAt + len(joined) - len(strings.TrimLeftFunc(joined, unicode.IsSpace))
		d.Sections = append(d.Sections, Section{Headings: headings(path[:]), Text: t, Start: start})
	}
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		if len(body) == 0 {
			bodyAt = at
		}
		at += len(line) + 1
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			body = append(body, line)
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			body = append(body, line)
			continue
		}
		if level, h, ok := atxHeading(line); ok {
			flush()
			path[level-1] = h
			clear(path[level:])
			if level == 1 && d.Title == "" {
				d.Title = h
			}
			continue
		}
		body = append(body, line)
	}
	flush()
	return d
}

// atxHeading parses "## Heading ##" (up to three leading spaces).
func atxHeading(line string) (int, string, bool) {
	l := strings.TrimLeft(line, " ")
	if len(line)-len(l) > 3 {
		return 0, "", false
	}
	n := 0
	for n < len(l) && l[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(l) && l[n] != ' ' && l[n] != '\t') {
		return 0, "", false
	}
	h := strings.TrimSpace(l[n:])
	h = strings.TrimSpace(strings.TrimRight(h, "#"))
	if h == "" {
		return 0, "", false
	}
	return n, strings.Join(strings.Fields(h), " "), true
}

func headings(path []string) []string {
	var out []string
	for _, h := range path {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// skipped elements carry no readable text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Svg: true, atom.Iframe: true, atom.Object: true,
}

// block elements end a line of text.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Tr: true, atom.Table: true, atom.Section: true, atom.Article: true, atom.Header: true,
	atom.Footer: true, atom.Blockquote: true, atom.Pre: true, atom.Hr: true, atom.Title: true,
	atom.Dt: true, atom.Dd: true, atom.Main: true, atom.Nav: true, atom.Aside: true,
}

var headingLevel = map[atom.Atom]int{atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6}

// htmlSection is a Section plus whether it is the first under its
// heading (Text then prints the heading line).
type htmlSection struct {
	Section
	firstUnder bool
}

type htmlResult struct {
	Title, firstH1 string
	Sections       []htmlSection
}

// htmlDoc walks the token stream (no DOM: linear in the input, bounded
// memory) and keeps the text outside skipped elements, one line per block,
// cut into sections at h1–h6.
func htmlDoc(data []byte) htmlResult {
	z := html.NewTokenizer(bytes.NewReader(data))
	var w htmlWalker
	for {
		switch z.Next() {
		case html.ErrorToken:
			w.flush()
			return w.r
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			w.start(z, atom.Lookup(name))
		case html.EndTagToken:
			name, _ := z.TagName()
			w.end(atom.Lookup(name))
		case html.TextToken:
			w.text(z.Text())
		}
	}
}

// htmlWalker is htmlDoc's state between tokens.
type htmlWalker struct {
	r          htmlResult
	b, hb      strings.Builder // the section's text, the heading's text
	path       [6]string       // the enclosing headings, h1–h6
	depth      int             // inside skipped elements
	inHeading  int             // level of the heading whose text is being read
	inTitle    bool
	newHeading bool
}

func (w *htmlWalker) newline() {
	s := w.b.String()
	if len(s) > 0 && !strings.HasSuffix(s, "\n") {
		w.b.WriteByte('\n')
	}
}

// flush ends the current section.
func (w *htmlWalker) flush() {
	t := strings.TrimSpace(collapse(w.b.String()))
	w.b.Reset()
	if t == "" && !w.newHeading {
		return
	}
	w.r.Sections = append(w.r.Sections, htmlSection{Section{Headings: headings(w.path[:]), Text: t}, w.newHeading})
	w.newHeading = false
}

func (w *htmlWalker) start(z *html.Tokenizer, a atom.Atom) {
	if a == atom.Title {
		w.inTitle = true
		return
	}
	if skipped[a] && a != atom.Head {
		if tt := z.Token(); tt.Type == html.StartTagToken {
			w.depth++
		}
		return
	}
	if lv := headingLevel[a]; lv > 0 && w.depth == 0 && w.inHeading == 0 {
		w.flush()
		w.inHeading = lv
		w.hb.Reset()
		return
	}
	if block[a] {
		w.newline()
	}
}

func (w *htmlWalker) end(a atom.Atom) {
	if a == atom.Title {
		w.inTitle = false
		return
	}
	if skipped[a] && a != atom.Head {
		if w.depth > 0 {
			w.depth--
		}
		return
	}
	if lv := headingLevel[a]; lv > 0 && w.inHeading == lv {
		h := strings.Join(strings.Fields(w.hb.String()), " ")
		if h != "" {
			w.path[lv-1] = h //nolint:gosec // G602: lv is 1–6 (headingLevel) and path has 6 entries
			clear(w.path[lv:])
			w.newHeading = true
			if lv == 1 && w.r.firstH1 == "" {
				w.r.firstH1 = h
			}
		}
		w.inHeading = 0
		return
	}
	if block[a] {
		w.newline()
	}
}

func (w *htmlWalker) text(t []byte) {
	switch {
	case w.inTitle:
		w.r.Title = strings.TrimSpace(string(t))
	case w.depth > 0:
	case w.inHeading > 0:
		w.hb.Write(t)
	default:
		w.b.Write(t)
	}
}

// collapse squeezes runs of spaces and blank lines.
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
