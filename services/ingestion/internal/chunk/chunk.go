package chunk

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/pkg/sentence"
)

// Options size the windows.
type Options struct {
	// Tokens is the target window size in approximate tokens (default 300).
	Tokens int
	// Overlap is how many tokens of trailing sentences a window repeats
	// from the previous one (default 50; less than Tokens).
	Overlap int
}

func (o Options) norm() Options {
	if o.Tokens <= 0 {
		o.Tokens = 300
	}
	if o.Overlap < 0 || o.Overlap >= o.Tokens {
		o.Overlap = o.Tokens / 6
	}
	return o
}

// Tokens approximates the token count of s the way BPE tokenizers behave
// on English prose: about one token per four bytes of a word, at least one
// per word, and one per punctuation mark.
func Tokens(s string) int {
	n := 0
	inWord, wordLen := false, 0
	flush := func() {
		if inWord {
			n += max(1, (wordLen+3)/4)
		}
		inWord, wordLen = false, 0
	}
	for i := 0; i < len(s); i++ {
		// ASCII without decoding runes (most text); the same classes as
		// the Unicode tests below
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size - 1
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				inWord = true
				wordLen += utf8.RuneLen(r)
			case unicode.IsSpace(r):
				flush()
			default:
				flush()
				n++
			}
			continue
		}
		switch asciiClass[c] {
		case classWord:
			inWord = true
			wordLen++
		case classSpace:
			flush()
		default:
			flush()
			n++
		}
	}
	flush()
	return n
}

// The classes of ASCII bytes for Tokens (a table instead of a chain of
// comparisons per byte).
const (
	classPunct = iota
	classWord
	classSpace
)

var asciiClass = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
			t[c] = classWord
		case c == ' ' || '\t' <= c && c <= '\r':
			t[c] = classSpace
		}
	}
	return t
}()

// Split cuts text into windows of about o.Tokens tokens that end at
// sentence boundaries where possible, each starting with the last
// sentences (up to o.Overlap tokens) of the previous one. Sentences longer
// than a window are cut at word boundaries. Blank text yields no chunks.
func Split(text string, o Options) []string {
	o = o.norm()
	sents := pieces(nil, text, 0, 0, o.Tokens)
	var out []string
	for _, w := range window(sents, o) {
		out = append(out, join(sents[w[0]:w[1]]))
	}
	return out
}

// pieces appends the sentences of text (a section's, at byte offset base
// of the located text) to out, each cut to at most limit tokens.
func pieces(out []piece, text string, base, section, limit int) []piece {
	sentence.Bounds(text, func(start, end int) {
		raw := text[start:end]
		s := squeeze(raw)
		if s == "" {
			return
		}
		// the sentence's bytes without the white space around them
		lead := len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))
		raw = strings.TrimSpace(raw)
		out = fit(out, s, raw, base+start+lead, limit, section)
	})
	return out
}

func join(w []piece) string {
	parts := make([]string, len(w))
	for i, p := range w {
		parts[i] = p.text
	}
	return strings.Join(parts, " ")
}

// window groups sentences into windows of about o.Tokens tokens, each
// starting with trailing sentences (up to o.Overlap tokens) of the
// previous one. It returns [start, end) index pairs into sents.
func window(sents []piece, o Options) [][2]int {
	var out [][2]int
	start, curTok := 0, 0
	for i := 0; i < len(sents); i++ {
		s := sents[i]
		if curTok+s.tokens > o.Tokens && i > start {
			out = append(out, [2]int{start, i})
			// keep trailing sentences as overlap, but always make progress
			ns, kt := i, 0
			for j := i - 1; j >= start+1; j-- {
				if kt+sents[j].tokens > o.Overlap {
					break
				}
				kt += sents[j].tokens
				ns = j
			}
			if kt+s.tokens > o.Tokens {
				ns, kt = i, 0
			}
			start, curTok = ns, kt
		}
		curTok += s.tokens
	}
	if start < len(sents) {
		out = append(out, [2]int{start, len(sents)})
	}
	return out
}

type piece struct {
	text    string
	tokens  int
	section int // index of the section the sentence comes from
	// start and end are the byte range of the sentence in the located
	// text (white space squeezed in text is not squeezed there)
	start, end int
}

// squeeze is strings.Join(strings.Fields(s), " "), without allocating
// when s already is that (ASCII words separated by single spaces) once
// ASCII white space around it is cut off: sentence.Split ends a sentence
// after its '.', so every sentence but the first starts with a space.
func squeeze(s string) string {
	for len(s) > 0 && asciiSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && asciiSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	clean := true
	for i := 0; clean && i < len(s); i++ {
		c := s[i]
		clean = c < utf8.RuneSelf && (c > ' ' || c == ' ' && s[i+1] != ' ') && c != 0x7f
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func asciiSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

// fit appends s (raw, at byte offset at, squeezed) to out, cut into
// word-aligned parts when it is longer than limit tokens (appending, not
// returning a slice per sentence: that was an allocation per sentence).
func fit(out []piece, s, raw string, at, limit, section int) []piece {
	t := Tokens(s)
	if t <= limit {
		return append(out, piece{s, t, section, at, at + len(raw)})
	}
	var b strings.Builder
	bt, from, to := 0, 0, 0 // the part's tokens and byte range in raw
	for ws, we := range words(raw) {
		w := raw[ws:we]
		wt := Tokens(w)
		if bt+wt > limit && bt > 0 {
			out = append(out, piece{b.String(), bt, section, at + from, at + to})
			b.Reset()
			bt = 0
		}
		if wt > limit { // a single enormous "word": cut by bytes
			off := ws
			for _, part := range cutBytes(w, limit*4) {
				out = append(out, piece{part, Tokens(part), section, at + off, at + off + len(part)})
				off += len(part)
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		} else {
			from = ws
		}
		b.WriteString(w)
		bt += wt
		to = we
	}
	if bt > 0 {
		out = append(out, piece{b.String(), bt, section, at + from, at + to})
	}
	return out
}

// words yields the byte ranges of s's fields (strings.Fields' words).
func words(s string) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		start := -1
		for i, r := range s {
			switch {
			case unicode.IsSpace(r) && start >= 0:
				if !yield(start, i) {
					return
				}
				start = -1
			case !unicode.IsSpace(r) && start < 0:
				start = i
			}
		}
		if start >= 0 {
			yield(start, len(s))
		}
	}
}

func cutBytes(s string, n int) []string {
	var out []string
	for len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		if i == 0 {
			i = n
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// Section is text under a heading path (see extract.Section).
type Section struct {
	Heading string
	Text    string
	// Start is the byte offset of Text in the document's located text
	// (extract.Section.Start), which Piece.Spans index.
	Start int
}

// Piece is a chunk with the heading path it sits under.
type Piece struct {
	Heading  string
	Headings []string
	Text     string
	// Spans are where the chunk's sentences are, in Text's order.
	Spans []Span
}

// Span ties a sentence of a chunk to the document: Text[At:At+Len] is the
// sentence, squeezed, and [Start, End) its bytes in the located text
// (docs/adr/0085). Sentences of one chunk may come from several sections.
type Span struct {
	At, Len    int
	Start, End int
}

// SplitSections windows the sentences of all sections like Split (small
// sections share a window, so a page of short sections does not become a
// crowd of tiny chunks that BM25's length normalisation would favour), and
// gives each chunk the heading path of the section its first new sentence
// comes from (the overlap repeated from the previous chunk does not count);
// Headings lists every distinct heading path the chunk covers.
func SplitSections(secs []Section, o Options) []Piece {
	o = o.norm()
	var sents []piece
	for i, sec := range secs {
		sents = pieces(sents, sec.Text, sec.Start, i, o.Tokens)
	}
	var out []Piece
	prevEnd := 0 // end of the previous window: sentences before it are overlap
	for _, w := range window(sents, o) {
		ws := sents[w[0]:w[1]]
		first := ws[0].section
		if prevEnd > w[0] && prevEnd < w[1] {
			first = sents[prevEnd].section
		}
		p := Piece{Heading: secs[first].Heading, Text: join(ws), Spans: make([]Span, len(ws))}
		seen := map[int]bool{}
		at := 0
		for i, s := range ws {
			if !seen[s.section] && secs[s.section].Heading != "" {
				seen[s.section] = true
				p.Headings = append(p.Headings, secs[s.section].Heading)
			}
			p.Spans[i] = Span{At: at, Len: len(s.text), Start: s.start, End: s.end}
			at += len(s.text) + 1
		}
		out = append(out, p)
		prevEnd = w[1]
	}
	return out
}
