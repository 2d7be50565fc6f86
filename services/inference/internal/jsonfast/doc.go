// Package jsonfast reads and writes the common shapes of the JSON on
// inference's hot path (a chat request, the upstream's answer, the reply)
// without reflection.
//
// It is a shortcut, never a second JSON semantics: Reader accepts only
// strictly valid JSON (no invalid UTF-8, no lone surrogates, no escaped or
// non-ASCII member names) and each caller accepts only the shapes it
// knows, falling back to encoding/json for anything else, so every result
// and every error is encoding/json's (fuzz tests compare both). The
// writers produce the bytes encoding/json's Marshal produces (HTML-safe
// escaping included). Issue 15, ADR 0053.
package jsonfast
