package openai

import (
	"bytes"

	"github.com/rampart-platform/rampart/pkg/jsonread"
)

// peekStream is inspect's fast path: one pass of pkg/jsonread over a body
// already known to be valid UTF-8 that checks the JSON syntax and finds
// the top-level "stream" member, without encoding/json's decoder and
// reflection (which were ~2 % of the edge's CPU per chat completion,
// issue 15).
//
// It only ever answers for bodies whose answer it is sure of: a top-level
// object, valid per RFC 8259, whose member names are plain ASCII without
// escapes, with at most one name that is "stream" in any ASCII case and no
// name that encoding/json might also match to it (one with '_' or '-'; a
// non-ASCII name already fails), no surrogate escape and no nesting deeper
// than maxPeekDepth. For everything else — every malformed body among
// them — ok is false and inspect asks encoding/json, whose errors the
// clients see. raw is the stream member's value as written (nil when
// absent).
func peekStream(b []byte) (raw []byte, ok bool) {
	r := jsonread.NewReaderOptions(b, peekOptions)
	if !r.Object() {
		return nil, false
	}
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return nil, false
		}
		value, ok := r.Raw()
		if !ok {
			return nil, false
		}
		switch {
		case len(name) < len("stream"): // no match for encoding/json either
		case bytes.EqualFold(name, streamName): // ASCII: case folding only
			if raw != nil {
				return nil, false // a repeated name: encoding/json decides
			}
			raw = value
		case jsonread.FoldEqual(name, "stream"):
			return nil, false // "st_ream", "s-t-r-e-a-m": encoding/json decides
		}
	}
	return raw, r.End()
}

var streamName = []byte("stream")

// maxPeekDepth bounds the fast path's nesting, the top-level object
// included (encoding/json allows 10,000 levels; deeper bodies go to it).
const maxPeekDepth = 64

// peekOptions: the reader's depth counts from a member's value (the
// top-level object is one level above it), and any surrogate escape, a
// valid pair too, is left to encoding/json.
var peekOptions = jsonread.Options{MaxDepth: maxPeekDepth - 1, NoSurrogates: true}
