// Package jsonfast reads the common shapes of the JSON on inference's hot
// path (a chat request, the upstream's answer) without reflection; the
// matching writers (strings and floats as encoding/json writes them) are
// pkg/jsonwrite's, shared with the edge and pkg/logging.
//
// It is a shortcut, never a second JSON semantics: Reader accepts only
// strictly valid JSON (no invalid UTF-8, no lone surrogates, no escaped or
// non-ASCII member names) and each caller accepts only the shapes it
// knows, falling back to encoding/json for anything else, so every result
// and every error is encoding/json's (fuzz tests compare both).
// Issue 15, ADR 0053.
package jsonfast
