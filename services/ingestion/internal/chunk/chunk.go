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
	// from the previous one when it cuts a paragraph (default 50; less
	// than Tokens). A window that ends at a paragraph repeats nothing.
	Overlap int
	// MinTokens: a section shorter than this is merged with a neighbour
	// (default Tokens/3; see SplitSections).
	MinTokens int
	// Flat windows the sentences of all sections in one run, the chunking
	// before docs/adr/0119 (an edit moved every later chunk's bounds);
	// kept for the evals' before/after runs.
	Flat bool
}

// Current numbers the chunking algorithm (ADR 0127): 1 the flat windows
// (before ADR 0119), 2 the sections. A change that moves the bounds of an
// unchanged document's chunks takes the next number: ingestion records it
// per document and re-chunks the documents of older versions. (Tokens and
// Overlap are settings, not versions: changing them re-chunks nothing.)
const Current = 2

// Version is the chunking algorithm o cuts with: 1 when Flat, else Current.
func (o Options) Version() int {
	if o.Flat {
		return 1
	}
	return Current
}

func (o Options) norm() Options {
	if o.Tokens <= 0 {
		o.Tokens = 300
	}
	if o.Overlap < 0 || o.Overlap >= o.Tokens {
		o.Overlap = o.Tokens / 6
	}
	if o.MinTokens <= 0 || o.MinTokens > o.Tokens {
		o.MinTokens = o.Tokens / 3
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
//
// A blank line, a list item, a table row and a fenced code block start a
// paragraph; a window that must end prefers the last paragraph start that
// leaves it at least half full, and repeats no overlap there.
func Split(text string, o Options) []string {
	var out []string
	for _, p := range SplitSections([]Section{{Text: text}}, o) {
		out = append(out, p.Text)
	}
	return out
}

// pieces appends the sentences of text (a section's, at byte offset base
// of the located text) to out, each cut to at most limit tokens, marking
// the first of each paragraph (the section's first sentence included).
func pieces(out []piece, text string, base, section, limit int) []piece {
	para := true      // the next kept sentence starts a paragraph
	lineStart := true // the next raw piece starts a line
	inFence := false  // inside a fenced code block
	sentence.Bounds(text, func(start, end int) {
		raw := text[start:end]
		atLine := lineStart
		lineStart = strings.HasSuffix(raw, "\n")
		s := squeeze(raw)
		if s == "" {
			if atLine && !inFence && strings.Contains(raw, "\n") {
				para = true // a blank line
			}
			return
		}
		if atLine {
			fence := isFence(s)
			switch {
			case inFence:
				inFence = !fence
			case fence:
				inFence, para = true, true
			case blockStart(s):
				para = true
			}
		}
		// the sentence's bytes without the white space around them
		lead := len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))
		raw = strings.TrimSpace(raw)
		n := len(out)
		out = fit(out, s, raw, base+start+lead, limit, section)
		out[n].para = para
		para = false
	})
	return out
}

// isFence reports whether a (squeezed) line opens or closes a Markdown
// fenced code block.
func isFence(s string) bool { return strings.HasPrefix(s, "```") || strings.HasPrefix(s, "~~~") }

// blockStart reports whether a (squeezed) line starts a block of its own
// in Markdown or plain text: a list item, a table row, a quote, a heading.
func blockStart(s string) bool {
	switch s[0] {
	case '|', '>', '#':
		return true
	case '-', '*', '+':
		return len(s) > 1 && s[1] == ' '
	}
	i := 0
	for i < len(s) && i < 9 && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' '
}

func join(w []piece) string {
	parts := make([]string, len(w))
	for i, p := range w {
		parts[i] = p.text
	}
	return strings.Join(parts, " ")
}

// window groups sents[from:to] into windows of about o.Tokens tokens and
// returns their [start, end) index pairs into sents. A window that must
// end before a sentence that starts a paragraph ends there; with paras it
// also ends at the last paragraph start that leaves it at least half full.
// A window that cuts a paragraph makes the next one start with that
// paragraph's trailing sentences (up to o.Overlap tokens; without paras
// any trailing sentences, as the flat chunking did).
func window(sents []piece, from, to int, o Options, paras bool) [][2]int {
	var out [][2]int
	start := from
	for start < to {
		end, tok := start, 0
		for end < to && (end == start || tok+sents[end].tokens <= o.Tokens) {
			tok += sents[end].tokens
			end++
		}
		if end == to {
			out = append(out, [2]int{start, to})
			break
		}
		cut := end
		if paras {
			// the last paragraph start in (start, end], if it leaves the
			// window at least half full
			fill := tok
			for p := end; p > start; p-- {
				if sents[p].para {
					if fill*2 >= o.Tokens || p == end {
						cut = p
					}
					break
				}
				fill -= sents[p-1].tokens
			}
		}
		out = append(out, [2]int{start, cut})
		// overlap: trailing sentences of the cut paragraph, always making
		// progress
		ns, kt := cut, 0
		if !paras || !sents[cut].para {
			for j := cut - 1; j >= start+1; j-- {
				if kt+sents[j].tokens > o.Overlap {
					break
				}
				kt += sents[j].tokens
				ns = j
				if paras && sents[j].para {
					break
				}
			}
			if kt+sents[cut].tokens > o.Tokens {
				ns = cut
			}
		}
		start = ns
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
	// para: the sentence starts a paragraph (or its section)
	para bool
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
		return append(out, piece{text: s, tokens: t, section: section, start: at, end: at + len(raw)})
	}
	var b strings.Builder
	bt, from, to := 0, 0, 0 // the part's tokens and byte range in raw
	for ws, we := range words(raw) {
		w := raw[ws:we]
		wt := Tokens(w)
		if bt+wt > limit && bt > 0 {
			out = append(out, piece{text: b.String(), tokens: bt, section: section, start: at + from, end: at + to})
			b.Reset()
			bt = 0
		}
		if wt > limit { // a single enormous "word": cut by bytes
			off := ws
			for _, part := range cutBytes(w, limit*4) {
				out = append(out, piece{text: part, tokens: Tokens(part), section: section, start: at + off, end: at + off + len(part)})
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
		out = append(out, piece{text: b.String(), tokens: bt, section: section, start: at + from, end: at + to})
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

// SplitSections cuts a document's sections into chunks that follow its
// structure (docs/adr/0119), so that an edit changes only the chunks of
// the section it is in:
//
//   - a section of at least o.MinTokens tokens starts a chunk of its own;
//   - a shorter one joins the section after it when that is its
//     subsection (an introduction above its first subsection), else the
//     chunk before it (a run of short sections shares one, so a page of
//     short sections does not become a crowd of tiny chunks that BM25's
//     length normalisation would favour);
//   - a group longer than o.Tokens is windowed like Split: at paragraph
//     starts where they leave the window at least half full, else at
//     sentences, with o.Overlap tokens of the cut paragraph repeated.
//
// Each chunk gets the heading path of the section its first new sentence
// comes from (the overlap repeated from the previous chunk does not
// count); Headings lists every distinct heading path the chunk covers.
// With o.Flat the sentences of all sections are windowed in one run.
func SplitSections(secs []Section, o Options) []Piece {
	o = o.norm()
	var sents []piece
	for i, sec := range secs {
		sents = pieces(sents, sec.Text, sec.Start, i, o.Tokens)
	}
	var wins [][2]int
	if o.Flat {
		wins = window(sents, 0, len(sents), o, false)
	} else {
		for _, g := range groups(secs, sents, o) {
			wins = append(wins, window(sents, g[0], g[1], o, true)...)
		}
	}
	var out []Piece
	prevEnd := 0 // end of the previous window: sentences before it are overlap
	for _, w := range wins {
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

// groups cuts sents (in section order) into runs of whole sections, each
// chunked on its own: a section of at least o.MinTokens tokens starts a
// run; a shorter one joins its subsection after it, or else the run
// before it. Whether a section starts a run depends only on its own size
// and its neighbours' heading paths, so inserting or editing a section
// changes at most the runs beside it.
func groups(secs []Section, sents []piece, o Options) [][2]int {
	// the sections that hold sentences, with their first sentence and size
	type sec struct{ idx, from, tokens int }
	var ss []sec
	for i, p := range sents {
		if len(ss) == 0 || ss[len(ss)-1].idx != p.section {
			ss = append(ss, sec{idx: p.section, from: i})
		}
		ss[len(ss)-1].tokens += p.tokens
	}
	short := func(k int) bool { return ss[k].tokens < o.MinTokens }
	forward := func(k int) bool { // a short section joins the subsection after it
		return short(k) && k+1 < len(ss) && subsection(secs[ss[k+1].idx].Heading, secs[ss[k].idx].Heading)
	}
	var out [][2]int
	start := 0
	for k := 1; k < len(ss); k++ {
		joinsPrev := short(k) && !forward(k)
		if forward(k-1) || joinsPrev {
			continue
		}
		out = append(out, [2]int{ss[start].from, ss[k].from})
		start = k
	}
	if len(ss) > 0 {
		out = append(out, [2]int{ss[start].from, len(sents)})
	}
	return out
}

// subsection reports whether heading path child is under path parent
// (every path is under the empty one, the text before the first heading).
func subsection(child, parent string) bool {
	if parent == "" {
		return child != ""
	}
	return strings.HasPrefix(child, parent+" > ")
}
