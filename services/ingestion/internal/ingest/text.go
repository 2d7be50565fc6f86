package ingest

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// MaxTextChars bounds the characters one DocumentText call returns (at
// most 1 MiB of UTF-8, well inside a gRPC message): a longer range stops
// there and the caller asks for the rest.
const MaxTextChars = 256 << 10

// TextRange is a range of a document's extracted text in characters
// (Unicode code points, as citation locations count them): [Start, End)
// of a text of Length characters.
type TextRange struct {
	Start, End, Length int
	Text               string
}

// DocumentText returns [start, end) of a document's extracted text, the
// text its citations' locations index (docs/adr/0094); end < 0 is the
// end of the text, and at most MaxTextChars characters are returned.
// A document whose text is not stored (ingested before it was, or still
// processing) is FailedPrecondition, saying what to do.
func (s *Service) DocumentText(ctx context.Context, tenant, id string, start, end int) (Document, TextRange, error) {
	switch {
	case id == "":
		return Document{}, TextRange{}, grpcerr.Invalid("document_id", "is required")
	case start < 0:
		return Document{}, TextRange{}, grpcerr.Invalid("start", "must not be negative")
	case end >= 0 && end < start:
		return Document{}, TextRange{}, grpcerr.Invalid("end", "must not be before start")
	}
	d, sealed, err := s.o.Store.DocumentText(ctx, tenant, id)
	if err != nil {
		return Document{}, TextRange{}, notFound(err, "document")
	}
	if sealed == nil {
		if d.State == store.DocProcessing {
			return Document{}, TextRange{}, fmt.Errorf("%w: the document is still being ingested; ask again once its job succeeded", grpcerr.ErrFailedPrecondition)
		}
		if d.State == store.DocFailed {
			return Document{}, TextRange{}, fmt.Errorf("%w: the document's ingestion failed; it has no text", grpcerr.ErrFailedPrecondition)
		}
		return Document{}, TextRange{}, fmt.Errorf("%w: this document was ingested before its text was stored; add the same content to its collection again to store it (rampart doc reindex does it for a collection; its chunks stay searchable meanwhile)", grpcerr.ErrFailedPrecondition)
	}
	key, err := s.key(ctx, tenant)
	if err != nil {
		return Document{}, TextRange{}, err
	}
	doc, err := s.open(key, d)
	if err != nil {
		return Document{}, TextRange{}, err
	}
	text, err := key.Open(kindExtracted, d.ID, sealed)
	if err != nil {
		return Document{}, TextRange{}, fmt.Errorf("document %s text: %w", d.ID, err)
	}
	r, err := textRange(text, start, end)
	return doc, r, err
}

// textRange cuts [start, end) characters (end < 0: to the end) out of
// UTF-8 text, at most MaxTextChars of them.
func textRange(text []byte, start, end int) (TextRange, error) {
	length := int(utf8.RuneCount(text))
	if start > length {
		return TextRange{}, grpcerr.Invalidf("start", "is past the end of the text (%d characters)", length)
	}
	if end < 0 || end > length {
		end = length
	}
	end = min(end, start+MaxTextChars)
	// one pass: byte offsets of the start and end characters
	from, to := len(text), len(text)
	var n int
	for i := range string(text) {
		if n == start {
			from = i
		}
		if n == end {
			to = i
			break
		}
		n++
	}
	return TextRange{Start: start, End: end, Length: length, Text: string(text[from:to])}, nil
}
