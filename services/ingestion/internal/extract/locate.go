package extract

import (
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Location is where a span of a document's text is, for a citation
// (docs/adr/0085).
type Location struct {
	// Start and End are the span's offsets in characters (Unicode code
	// points), [Start, End), in the document's extracted text (Text): the
	// file itself for plain text and Markdown.
	Start, End int
	// LineStart and LineEnd are the lines, from 1, of the span's first
	// and last characters in a text file (plain text, Markdown); 0 in the
	// other formats, whose extracted lines are not the file's.
	LineStart, LineEnd int
	// Page and PageEnd are the pages, from 1, of the span's first and
	// last characters in a paged format (PDF); 0 in the others.
	Page, PageEnd int
}

// Locate returns the locations of spans, byte ranges [start, end) with
// start < end of the located text (a section's Start plus offsets in its
// Text), in the order of spans. One pass over the text for all spans: a
// document's chunks are located together.
func (d Doc) Locate(spans [][2]int) []Location {
	points := make([]int, 0, 3*len(spans))
	for _, s := range spans {
		points = append(points, s[0], d.lastRune(s), s[1])
	}
	slices.Sort(points)
	points = slices.Compact(points)
	type pos struct{ char, line int }
	at := make(map[int]pos, len(points))
	cur, char, line := 0, 0, 1
	for _, p := range points {
		o := min(max(p, cur), len(d.text))
		seg := d.text[cur:o]
		char += utf8.RuneCountInString(seg)
		line += strings.Count(seg, "\n")
		cur = o
		// a CR dropped before an LF is a character of the file
		at[p] = pos{char + sort.SearchInts(d.crs, o), line}
	}
	out := make([]Location, len(spans))
	for i, s := range spans {
		first, last, end := at[s[0]], at[d.lastRune(s)], at[s[1]]
		l := Location{Start: first.char, End: end.char, Page: d.pageAt(s[0]), PageEnd: d.pageAt(s[1] - 1)}
		if d.lines {
			l.LineStart, l.LineEnd = first.line, last.line
		}
		out[i] = l
	}
	return out
}

// lastRune is the byte offset of the last character of span s (the
// points Locate counts runes between must not split one: the halves of
// "é" would count as two).
func (d Doc) lastRune(s [2]int) int {
	o := min(s[1], len(d.text)) - 1
	for o > s[0] && !utf8.RuneStart(d.text[o]) {
		o--
	}
	return max(o, s[0])
}

// pageAt is the page of the section holding byte o of the located text.
func (d Doc) pageAt(o int) int {
	i := sort.Search(len(d.Sections), func(i int) bool { return d.Sections[i].Start > o })
	if i == 0 {
		return 0
	}
	return d.Sections[i-1].Page
}
