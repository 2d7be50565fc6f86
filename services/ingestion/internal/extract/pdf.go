package extract

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// PDF limits. A PDF is hostile input: the parser (github.com/ledongthuc/pdf)
// follows object references, inflates streams and signals errors by
// panicking, so every way it can spend memory or time is bounded here.
const (
	// MaxPDFPages is the most pages read; later pages are ignored.
	MaxPDFPages = 2000
	// maxPDFInflate bounds the bytes all Flate streams of one file inflate
	// to (checked before parsing): a stream of zeros deflates ~1000:1,
	// and the parser's lexer holds a whole token in memory.
	maxPDFInflate = 256 << 20
	// maxPDFText bounds the text taken from one file.
	maxPDFText = 16 << 20
	// maxPDFTreeDepth bounds the page tree's nesting (real files: < 10).
	maxPDFTreeDepth = 32
	// maxPDFTreeNodes bounds the page-tree nodes visited: a /Kids cycle
	// with two kids would otherwise double at every level.
	maxPDFTreeNodes = 4 * MaxPDFPages
	// maxCMapBytes bounds a font's ToUnicode map; a larger one is ignored
	// (its decoder is linear in the map per character).
	maxCMapBytes = 1 << 20
	// maxDifferences bounds a font's /Differences array (real ones ≤ 512).
	maxDifferences = 1024
	// maxShowBytes is the longest string decoded at once; longer ones are
	// decoded in pieces, with the time budget checked between them.
	maxShowBytes = 4096
)

// PDFTimeout bounds the parse of one PDF (a variable for tests).
var PDFTimeout = 20 * time.Second

// ErrMalformed is returned for a PDF or DOCX file that cannot be read.
var ErrMalformed = errors.New("malformed document")

// ErrTooLarge is returned when a document expands past a limit.
var ErrTooLarge = errors.New("document expands beyond the limits")

// budgetExceeded aborts the parse from deep inside the parser. It is a
// runtime.Error on purpose: the parser's Interpret swallows ordinary panics
// of a malformed operand and goes on, but re-raises runtime errors, so the
// budget cannot be caught and ignored there.
type budgetExceeded struct{ why string }

func (b budgetExceeded) Error() string { return b.why }
func (budgetExceeded) RuntimeError()   {}

// budget is the deadline shared by the reader and the text collector.
type budget struct {
	deadline time.Time
	text     int
}

func (b *budget) check() {
	if time.Now().After(b.deadline) {
		panic(budgetExceeded{"PDF took longer than " + PDFTimeout.String() + " to read"})
	}
}

// guardedReaderAt checks the budget on every read: the parser reads the
// file for every object it resolves and every 4 KiB of a stream it
// inflates, so loops over references (a /Prev or /Parent cycle) and slow
// streams end at the deadline.
type guardedReaderAt struct {
	r *bytes.Reader
	b *budget
}

func (g guardedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	g.b.check()
	return g.r.ReadAt(p, off)
}

// errPDFSyntax is every PDF parse failure (see pdfDoc).
var errPDFSyntax = fmt.Errorf("%w: PDF: the file's structure or syntax is broken", ErrMalformed)

// pdfDoc extracts a PDF's text, one section per page ("Page N"), its Info
// /Title and /ModDate.
//
// A parse error is errPDFSyntax, never the library's own text: that quotes
// what it choked on (a malformed hex string with the rest of its 4 KiB read
// buffer, an odd keyword or number), and the error becomes the failed job's
// error, kept in clear in the database and shown to the tenant (ADR 0064).
func pdfDoc(data []byte) (d Doc, err error) {
	if err := checkInflate(data, maxPDFInflate); err != nil {
		return Doc{}, err
	}
	b := &budget{deadline: time.Now().Add(PDFTimeout)}
	defer func() {
		if x := recover(); x != nil {
			d = Doc{}
			var be budgetExceeded
			if e, ok := x.(error); ok && errors.As(e, &be) {
				err = fmt.Errorf("%w: %s", ErrTooLarge, be.why)
				return
			}
			err = errPDFSyntax
		}
	}()
	r, err := pdf.NewReader(guardedReaderAt{bytes.NewReader(data), b}, int64(len(data)))
	if err != nil {
		var be budgetExceeded
		if errors.As(err, &be) {
			return Doc{}, fmt.Errorf("%w: %s", ErrTooLarge, be.why)
		}
		if errors.Is(err, pdf.ErrInvalidPassword) {
			return Doc{}, fmt.Errorf("%w: the PDF is encrypted with a password", ErrUnsupported)
		}
		return Doc{}, errPDFSyntax
	}
	info := r.Trailer().Key("Info")
	d.Title = cleanText(info.Key("Title").Text())
	d.UpdatedAt = pdfDate(info.Key("ModDate").Text())
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = pdfDate(info.Key("CreationDate").Text())
	}
	var pages []pdf.Value
	visits := 0
	collectPages(r.Trailer().Key("Root").Key("Pages"), 0, &visits, &pages, b)
	fonts := map[string]*pdf.Font{}
	for i, p := range pages {
		text := pageText(p, fonts, b)
		if text != "" {
			d.Sections = append(d.Sections, Section{Headings: []string{"Page " + strconv.Itoa(i+1)}, Text: text, Page: i + 1})
		}
		if b.text > maxPDFText {
			break
		}
	}
	return d, nil
}

// collectPages walks the page tree depth-first (bounded depth and page
// count and nodes; the parser's own Page(n) loops forever on a /Kids
// cycle, and pdf.Value does not expose object identity to detect one).
func collectPages(node pdf.Value, depth int, visits *int, out *[]pdf.Value, b *budget) {
	*visits++
	if depth > maxPDFTreeDepth || len(*out) >= MaxPDFPages || *visits > maxPDFTreeNodes {
		return
	}
	b.check()
	switch node.Key("Type").Name() {
	case "Page":
		*out = append(*out, node)
	case "Pages", "":
		kids := node.Key("Kids")
		for i := 0; i < kids.Len() && len(*out) < MaxPDFPages; i++ {
			collectPages(kids.Index(i), depth+1, visits, out, b)
		}
	}
}

// pageText interprets a page's content stream and keeps the shown text.
// Text positioning that moves down starts a new line; a large negative
// kerning in TJ (a word gap typeset as a shift) becomes a space.
func pageText(page pdf.Value, fonts map[string]*pdf.Font, b *budget) (text string) {
	// A malformed page loses its text, not the whole document; the budget
	// still ends everything.
	defer func() {
		if x := recover(); x != nil {
			if e, ok := x.(error); ok && errors.As(e, new(budgetExceeded)) {
				panic(x)
			}
			text = ""
		}
	}()
	contents := page.Key("Contents")
	if contents.IsNull() {
		return ""
	}
	t := pageTexter{res: inherited(page, "Resources"), fonts: fonts, b: b, enc: rawEncoding{}}
	pdf.Interpret(contents, t.op)
	b.text += t.out.Len()
	return cleanText(t.out.String())
}

// pageTexter is pageText's state while the content stream is interpreted.
type pageTexter struct {
	res   pdf.Value
	fonts map[string]*pdf.Font
	b     *budget
	enc   pdf.TextEncoding
	out   strings.Builder
}

func (t *pageTexter) nl() {
	if s := t.out.String(); s != "" && !strings.HasSuffix(s, "\n") {
		t.out.WriteByte('\n')
	}
}

func (t *pageTexter) space() {
	if s := t.out.String(); s != "" && !strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\n") {
		t.out.WriteByte(' ')
	}
}

func (t *pageTexter) show(raw string) {
	for len(raw) > 0 {
		t.b.check()
		n := min(len(raw), maxShowBytes)
		t.out.WriteString(t.enc.Decode(raw[:n]))
		raw = raw[n:]
	}
	if t.out.Len() > maxPDFText-t.b.text {
		panic(budgetExceeded{fmt.Sprintf("PDF text is longer than %d bytes", maxPDFText)})
	}
}

// op runs one content-stream operator with its operands.
func (t *pageTexter) op(stk *pdf.Stack, op string) {
	t.b.check()
	n := stk.Len()
	args := make([]pdf.Value, n)
	for i := n - 1; i >= 0; i-- {
		args[i] = stk.Pop()
	}
	switch op {
	case "BT", "ET", "T*":
		t.nl()
	case "Td", "TD":
		if len(args) == 2 && args[1].Float64() != 0 {
			t.nl()
		} else {
			t.space()
		}
	case "Tm":
		t.nl()
	case "Tf":
		if len(args) == 2 {
			t.enc = fontEncoding(t.res, args[0].Name(), t.fonts)
		}
	case "'", "\"":
		t.nl()
		if len(args) > 0 {
			t.show(args[len(args)-1].RawString())
		}
	case "Tj":
		if len(args) == 1 {
			t.show(args[0].RawString())
		}
	case "TJ":
		if len(args) == 1 {
			t.showArray(args[0])
		}
	}
}

// showArray is TJ: strings shown, a large negative kerning (a word gap
// typeset as a shift) a space.
func (t *pageTexter) showArray(arr pdf.Value) {
	for i := 0; i < arr.Len(); i++ {
		switch x := arr.Index(i); x.Kind() {
		case pdf.String:
			t.show(x.RawString())
		case pdf.Integer, pdf.Real:
			if x.Float64() < -200 {
				t.space()
			}
		}
	}
}

// inherited looks key up on the page and its ancestors (bounded: a
// /Parent cycle would otherwise loop until the deadline).
func inherited(v pdf.Value, key string) pdf.Value {
	for i := 0; i <= maxPDFTreeDepth && !v.IsNull(); i++ {
		if r := v.Key(key); !r.IsNull() {
			return r
		}
		v = v.Key("Parent")
	}
	return pdf.Value{}
}

// fontEncoding returns the decoder of font name in resources, cached by
// name across pages. Fonts whose maps exceed the limits decode as raw
// bytes (mostly garbage for such a font, but bounded).
func fontEncoding(res pdf.Value, name string, fonts map[string]*pdf.Font) pdf.TextEncoding {
	f, ok := fonts[name]
	if !ok {
		fv := res.Key("Font").Key(name)
		if fv.IsNull() || !fontWithinLimits(fv) {
			fonts[name] = nil
			return rawEncoding{}
		}
		f = &pdf.Font{V: fv}
		fonts[name] = f
	}
	if f == nil {
		return rawEncoding{}
	}
	return f.Encoder()
}

func fontWithinLimits(fv pdf.Value) bool {
	if enc := fv.Key("Encoding"); enc.Kind() == pdf.Dict && enc.Key("Differences").Len() > maxDifferences {
		return false
	}
	if tu := fv.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		rc := tu.Reader()
		n, _ := io.Copy(io.Discard, io.LimitReader(rc, maxCMapBytes+1))
		_ = rc.Close()
		if n > maxCMapBytes {
			return false
		}
	}
	return true
}

// rawEncoding shows bytes as Latin-1 (fonts without a usable encoding).
type rawEncoding struct{}

func (rawEncoding) Decode(raw string) string {
	r := make([]rune, len(raw))
	for i := 0; i < len(raw); i++ {
		r[i] = rune(raw[i])
	}
	return string(r)
}

// checkInflate finds every zlib stream after a "stream" keyword and
// inflates it into io.Discard, failing when the total passes limit. It is
// a conservative pre-check: the parser inflates the same streams later.
func checkInflate(data []byte, limit int64) error {
	var total int64
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("stream"))
		if i < 0 {
			return nil
		}
		off += i + len("stream")
		start := off
		if start < len(data) && data[start] == '\r' {
			start++
		}
		if start < len(data) && data[start] == '\n' {
			start++
		}
		if start == off { // "endstream" or the word inside a string
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(data[start:]))
		if err != nil {
			continue
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(zr, limit-total+1))
		_ = zr.Close()
		total += n
		if total > limit {
			return fmt.Errorf("%w: PDF streams inflate to more than %d MiB", ErrTooLarge, limit>>20)
		}
	}
}

// pdfDate parses a PDF date "D:YYYYMMDDHHmmSSOHH'mm'" (every part after
// the year optional); the zero time when it does not parse.
func pdfDate(s string) time.Time {
	s = strings.TrimPrefix(strings.TrimSpace(s), "D:")
	if len(s) < 4 {
		return time.Time{}
	}
	num := func(i, n, def int) int {
		if len(s) < i+n {
			return def
		}
		v, err := strconv.Atoi(s[i : i+n])
		if err != nil {
			return -1
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4, 0), num(4, 2, 1), num(6, 2, 1), num(8, 2, 0), num(10, 2, 0), num(12, 2, 0)
	if y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return time.Time{}
	}
	loc := time.UTC
	if len(s) > 14 && (s[14] == '+' || s[14] == '-') {
		tz := strings.ReplaceAll(s[15:], "'", "")
		th, tm := 0, 0
		if len(tz) >= 2 {
			th, _ = strconv.Atoi(tz[:2])
		}
		if len(tz) >= 4 {
			tm, _ = strconv.Atoi(tz[2:4])
		}
		off := th*3600 + tm*60
		if s[14] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc).UTC()
}

// cleanText makes extracted text valid UTF-8 without control characters
// (other than newlines and tabs) and squeezes blank runs.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r) || r == utf8.RuneError:
			return ' '
		}
		return r
	}, s)
	return collapse(s)
}
