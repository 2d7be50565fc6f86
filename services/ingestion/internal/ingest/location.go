package ingest

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/services/ingestion/internal/chunk"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
)

// kindLocation seals a chunk's sentence locations (AAD id: chunk id).
const kindLocation = "location"

// SpanLocation is where one sentence of a passage is: the passage text's
// characters [TextStart, TextEnd) are at Location in the document
// (docs/adr/0085).
type SpanLocation struct {
	TextStart, TextEnd int
	Location           extract.Location
}

// Covering is the location of the whole passage: from its first
// sentence's start to its last sentence's end.
func Covering(spans []SpanLocation) *extract.Location {
	if len(spans) == 0 {
		return nil
	}
	first, last := spans[0].Location, spans[len(spans)-1].Location
	return &extract.Location{Start: first.Start, End: last.End, LineStart: first.LineStart, LineEnd: last.LineEnd, Page: first.Page, PageEnd: last.PageEnd}
}

// locateParts returns the sentence locations of every chunk, in parts'
// order: one pass over the document for all of them.
func locateParts(xdoc extract.Doc, parts []chunk.Piece) [][]SpanLocation {
	var spans [][2]int
	for _, p := range parts {
		for _, s := range p.Spans {
			spans = append(spans, [2]int{s.Start, s.End})
		}
	}
	locs := xdoc.Locate(spans)
	out := make([][]SpanLocation, len(parts))
	i := 0
	for pi, p := range parts {
		out[pi] = make([]SpanLocation, len(p.Spans))
		char, at := 0, 0 // characters of p.Text before byte at
		for si, s := range p.Spans {
			char += utf8.RuneCountInString(p.Text[at:s.At])
			n := utf8.RuneCountInString(p.Text[s.At : s.At+s.Len])
			out[pi][si] = SpanLocation{TextStart: char, TextEnd: char + n, Location: locs[i]}
			char, at = char+n, s.At+s.Len
			i++
		}
	}
	return out
}

// locationVersion leads the encoding: a later layout gets a new number.
const locationVersion = 1

// encodeLocation is the stored form of a chunk's sentence locations
// (sealed): the version, then per sentence its text range, its character
// range, line and page as unsigned varints (0: no line, no page; a
// sentence is on one line and one page).
func encodeLocation(spans []SpanLocation) []byte {
	b := make([]byte, 0, 2+len(spans)*12)
	b = append(b, locationVersion)
	b = binary.AppendUvarint(b, uint64(len(spans)))
	for _, s := range spans {
		for _, v := range []int{s.TextStart, s.TextEnd, s.Location.Start, s.Location.End, s.Location.LineStart, s.Location.Page} {
			b = binary.AppendUvarint(b, uint64(v)) //nolint:gosec // offsets are not negative
		}
	}
	return b
}

var errLocation = errors.New("stored chunk location is malformed")

// decodeLocation reads encodeLocation's bytes.
func decodeLocation(b []byte) ([]SpanLocation, error) {
	if len(b) == 0 || b[0] != locationVersion {
		return nil, errLocation
	}
	b = b[1:]
	next := func() (int, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<31 {
			return 0, false
		}
		b = b[n:]
		return int(v), true
	}
	count, ok := next()
	if !ok || count > len(b) {
		return nil, errLocation
	}
	out := make([]SpanLocation, count)
	for i := range out {
		var v [6]int
		for j := range v {
			if v[j], ok = next(); !ok {
				return nil, errLocation
			}
		}
		out[i] = SpanLocation{TextStart: v[0], TextEnd: v[1], Location: extract.Location{Start: v[2], End: v[3], LineStart: v[4], LineEnd: v[4], Page: v[5], PageEnd: v[5]}}
	}
	if len(b) != 0 {
		return nil, errLocation
	}
	return out, nil
}
