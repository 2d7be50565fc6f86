package extract

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Outline is what an HTML, PDF or DOCX document's extracted text (Located:
// its sections' texts joined by blank lines) lacks to be chunked again:
// its title and where each section starts, under which headings, on which
// page. Stored beside the text, it lets a document of these formats be
// re-chunked after a chunker upgrade from storage alone (Restore; ADR 0133).
// Plain text and Markdown need none: their located text is the file.
type Outline struct {
	Title    string           `json:"title,omitempty"`
	Sections []OutlineSection `json:"sections"`
}

// OutlineSection is one section without its text: the located text's
// [Start, Start+Len).
type OutlineSection struct {
	Headings []string `json:"h,omitempty"`
	Start    int      `json:"s"`
	Len      int      `json:"n"`
	Page     int      `json:"p,omitempty"`
}

// ErrBadOutline is returned for an outline that does not fit its text.
var ErrBadOutline = errors.New("the outline does not fit the text")

// HasOwnText reports whether a content type's located text is the file
// itself (plain text, Markdown), so extracting that text again gives the
// same document; the others need their Outline.
func HasOwnText(contentType string) bool { return contentType == Plain || contentType == Markdown }

// Outline is d's outline (see Outline).
func (d Doc) Outline() Outline {
	o := Outline{Title: d.Title, Sections: make([]OutlineSection, len(d.Sections))}
	for i, s := range d.Sections {
		o.Sections[i] = OutlineSection{Headings: s.Headings, Start: s.Start, Len: len(s.Text), Page: s.Page}
	}
	return o
}

// MarshalOutline encodes d's outline for storage.
func (d Doc) MarshalOutline() ([]byte, error) { return json.Marshal(d.Outline()) }

// Restore rebuilds the document of a format without a text file of its own
// (HTML, PDF, DOCX) from its located text and its encoded outline: the Doc
// Document gave when the file was uploaded, without its UpdatedAt (stored
// on the document already). Sections must lie in the text, in order, not
// overlapping.
func Restore(located string, outline []byte) (Doc, error) {
	var o Outline
	if err := json.Unmarshal(outline, &o); err != nil {
		return Doc{}, fmt.Errorf("%w: %w", ErrBadOutline, err)
	}
	d := Doc{Title: o.Title, text: located, Sections: make([]Section, len(o.Sections))}
	at := 0
	for i, s := range o.Sections {
		if s.Start < at || s.Len < 0 || s.Start+s.Len > len(located) {
			return Doc{}, fmt.Errorf("%w: section %d at [%d, %d) of %d bytes", ErrBadOutline, i, s.Start, s.Start+s.Len, len(located))
		}
		d.Sections[i] = Section{Headings: s.Headings, Text: located[s.Start : s.Start+s.Len], Start: s.Start, Page: s.Page}
		at = s.Start + s.Len
	}
	return d, nil
}
