package extract

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DOCX limits: a DOCX is a zip of XML parts, read with archive/zip and a
// streaming encoding/xml decoder (no DTDs, no entity expansion). The
// central directory's sizes are the sender's claims, so every part is
// read through a limit whatever its header says.
const (
	maxZipEntries = 10000
	// maxDocumentXML bounds word/document.xml once inflated (a 10 MiB
	// upload of real text inflates to well under this).
	maxDocumentXML = 128 << 20
	// maxSmallPart bounds core.xml and styles.xml.
	maxSmallPart = 8 << 20
	// maxXMLDepth bounds element nesting (Word: < 30; the decoder keeps a
	// stack entry per open element).
	maxXMLDepth = 256
)

const (
	nsW  = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsDC = "http://purl.org/dc/elements/1.1/"
	nsDT = "http://purl.org/dc/terms/"
)

// isDOCX reports whether data is a zip holding word/document.xml.
func isDOCX(data []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) > maxZipEntries {
		return false
	}
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			return true
		}
	}
	return false
}

// docxDoc extracts a DOCX's paragraphs, cut into sections at heading
// paragraphs (styles "Heading 1"–"Heading 6" or an outline level), its
// core.xml dc:title and dcterms:modified.
func docxDoc(data []byte) (Doc, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Doc{}, fmt.Errorf("%w: DOCX: %w", ErrMalformed, err)
	}
	if len(zr.File) > maxZipEntries {
		return Doc{}, fmt.Errorf("%w: DOCX has more than %d parts", ErrTooLarge, maxZipEntries)
	}
	parts := map[string]*zip.File{}
	for _, f := range zr.File {
		parts[f.Name] = f
	}
	main := parts["word/document.xml"]
	if main == nil {
		return Doc{}, fmt.Errorf("%w: DOCX without word/document.xml", ErrMalformed)
	}
	var d Doc
	if f := parts["docProps/core.xml"]; f != nil {
		if raw, err := readPart(f, maxSmallPart); err == nil {
			d.Title, d.UpdatedAt = coreProps(raw)
		} else if errors.Is(err, ErrTooLarge) {
			return Doc{}, err
		}
	}
	levels := map[string]int{}
	if f := parts["word/styles.xml"]; f != nil {
		raw, err := readPart(f, maxSmallPart)
		if errors.Is(err, ErrTooLarge) {
			return Doc{}, err
		}
		if err == nil {
			levels = styleLevels(raw)
		}
	}
	raw, err := readPart(main, maxDocumentXML)
	if err != nil {
		return Doc{}, err
	}
	secs, firstTitle, err := docxBody(raw, levels)
	if err != nil {
		return Doc{}, err
	}
	d.Sections = secs
	if d.Title == "" {
		d.Title = firstTitle
	}
	return d, nil
}

// readPart inflates one zip entry, at most limit bytes.
func readPart(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) { //nolint:gosec // G115: limit is a positive constant
		return nil, fmt.Errorf("%w: DOCX part %s is larger than %d MiB", ErrTooLarge, f.Name, limit>>20)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: DOCX part %s: %w", ErrMalformed, f.Name, err)
	}
	defer func() { _ = rc.Close() }()
	// The header's size is a claim: read through a limit anyway.
	raw, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: DOCX part %s: %w", ErrMalformed, f.Name, err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: DOCX part %s is larger than %d MiB", ErrTooLarge, f.Name, limit>>20)
	}
	return raw, nil
}

// newXMLDecoder reads XML without DTD processing; tokens are pulled one at
// a time so memory follows nesting depth, which callers bound.
func newXMLDecoder(raw []byte) *xml.Decoder {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	// Parts declare UTF-8; other charsets are refused rather than guessed.
	dec.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("charset %q not supported", label)
	}
	return dec
}

var errTooDeep = fmt.Errorf("%w: XML nested deeper than %d elements", ErrTooLarge, maxXMLDepth)

// coreProps reads dc:title and dcterms:modified from docProps/core.xml.
func coreProps(raw []byte) (string, time.Time) {
	dec := newXMLDecoder(raw)
	var title string
	var modified time.Time
	depth := 0
	var cur xml.Name
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return title, modified
			}
			cur = t.Name
		case xml.EndElement:
			depth--
			cur = xml.Name{}
		case xml.CharData:
			switch {
			case cur.Space == nsDC && cur.Local == "title":
				title = cleanText(string(t))
			case cur.Space == nsDT && cur.Local == "modified":
				if ts, err := time.Parse(time.RFC3339, strings.TrimSpace(string(t))); err == nil {
					modified = ts.UTC()
				}
			}
		}
	}
	return title, modified
}

var headingName = regexp.MustCompile(`^(?i)heading\s*([1-6])$`)

// styleLevels maps paragraph style ids to heading levels 1–6 (0 for the
// "Title" style), from word/styles.xml: a style named "heading N" or with
// an outline level.
func styleLevels(raw []byte) map[string]int {
	out := map[string]int{}
	dec := newXMLDecoder(raw)
	depth := 0
	id := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return out
			}
			if t.Name.Space != nsW {
				continue
			}
			switch t.Name.Local {
			case "style":
				id = attr(t, "styleId")
			case "name":
				name := attr(t, "val")
				if m := headingName.FindStringSubmatch(name); m != nil && id != "" {
					out[id] = int(m[1][0] - '0')
				} else if strings.EqualFold(name, "title") && id != "" {
					out[id] = 0
				}
			case "outlineLvl":
				if lv, err := strconv.Atoi(attr(t, "val")); err == nil && lv >= 0 && lv < 6 && id != "" {
					if _, ok := out[id]; !ok {
						out[id] = lv + 1
					}
				}
			}
		case xml.EndElement:
			depth--
			if t.Name.Space == nsW && t.Name.Local == "style" {
				id = ""
			}
		}
	}
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local && (a.Name.Space == nsW || a.Name.Space == "") {
			return a.Value
		}
	}
	return ""
}

// docxBody walks word/document.xml: w:t text, w:tab and w:br inside runs,
// one line per w:p, sections cut at heading paragraphs. It returns the
// first "Title"-styled paragraph as a fallback title.
func docxBody(raw []byte, levels map[string]int) ([]Section, string, error) {
	dec := newXMLDecoder(raw)
	w := docxWalker{levels: levels, level: -1}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return nil, "", errTooDeep
			}
			if t.Name.Space == nsW {
				w.start(t)
			}
		case xml.EndElement:
			depth--
			if t.Name.Space == nsW {
				w.end(t.Name.Local)
			}
		case xml.CharData:
			if w.inText {
				w.para.Write(t)
			}
		}
	}
	w.flush()
	return w.secs, w.title, nil
}

// docxWalker is docxBody's state between tokens.
type docxWalker struct {
	levels map[string]int // paragraph style id → heading level
	secs   []Section
	path   [6]string // the enclosing headings
	body   []string  // the current section's lines
	para   strings.Builder
	title  string
	level  int // heading level of the current paragraph; -1: body text
	inText bool
}

// flush ends the current section.
func (w *docxWalker) flush() {
	t := strings.TrimSpace(strings.Join(w.body, "\n"))
	w.body = w.body[:0]
	if t != "" {
		w.secs = append(w.secs, Section{Headings: headings(w.path[:]), Text: t})
	}
}

func (w *docxWalker) start(t xml.StartElement) {
	switch t.Name.Local {
	case "p":
		w.para.Reset()
		w.level = -1
	case "pStyle":
		val := attr(t, "val")
		if lv, ok := w.levels[val]; ok {
			w.level = lv
		} else if strings.EqualFold(val, "title") {
			w.level = 0
		} else if m := headingName.FindStringSubmatch(val); m != nil {
			w.level = int(m[1][0] - '0')
		}
	case "outlineLvl":
		if lv, err := strconv.Atoi(attr(t, "val")); err == nil && lv >= 0 && lv < 6 && w.level < 0 {
			w.level = lv + 1
		}
	case "t":
		w.inText = true
	case "tab":
		w.para.WriteByte('\t')
	case "br", "cr":
		w.para.WriteByte('\n')
	}
}

func (w *docxWalker) end(local string) {
	switch local {
	case "t":
		w.inText = false
	case "p":
		line := strings.Join(strings.Fields(w.para.String()), " ")
		switch {
		case line == "":
		case w.level == 0:
			if w.title == "" {
				w.title = line
			}
		case w.level > 0:
			w.flush()
			w.path[w.level-1] = line //nolint:gosec // G602: level is 1–6 here (styleLevels, headingName, outlineLvl < 6)
			clear(w.path[w.level:])
		default:
			w.body = append(w.body, line)
		}
		w.para.Reset()
		w.level = -1
	}
}

// xmlError reports a syntax error of document.xml by its line only:
// encoding/xml quotes what it refused (an entity name, a charset label),
// which is the document's text, and the error becomes the failed job's
// error, kept in clear and shown to the tenant (ADR 0064).
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: DOCX document.xml: XML syntax error on line %d", ErrMalformed, se.Line)
	}
	return fmt.Errorf("%w: DOCX document.xml: not well-formed XML", ErrMalformed)
}
