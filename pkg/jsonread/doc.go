// Package jsonread is the one hand-written JSON reader of the hot paths:
// a strict pull reader (Reader) for the common shapes of the JSON a caller
// knows — the edge's check of a chat body and its "stream" member,
// inference's chat request and the upstream's answer — without
// encoding/json's reflection. The matching writers are pkg/jsonwrite's.
//
// It is a shortcut, never a second JSON semantics: Reader accepts only
// strictly valid JSON (no invalid UTF-8, no lone surrogates, no escaped or
// non-ASCII member names, JSON's number grammar, bounded nesting) and each
// caller accepts only the shapes it knows, falling back to encoding/json
// for anything else, so every result and every error a client sees is
// encoding/json's. Names that encoding/json could match to a field in
// other spellings (case, '_', '-') are the caller's to refuse: FoldEqual
// says which.
//
// Options narrow the reader further for a caller that pins which inputs
// it leaves to encoding/json (the edge: nesting to 64 levels, no
// surrogate escapes at all).
//
// The tests compare it with encoding/json (differential and fuzz): what
// Reader accepts, encoding/json accepts with the same value.
// Issue 15, ADR 0053, ADR 0054, ADR 0063.
package jsonread
