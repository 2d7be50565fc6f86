// Package jsonwrite appends JSON strings and numbers byte for byte as the
// standard encoders write them, without reflection, for the hand-written
// encoders on hot paths (inference's chat reply and upstream request,
// the edge's secret-value answer, the JSON log handler).
//
// The standard encoders quote strings differently, and each caller must
// reproduce its own exactly, so there is one writer with one variant per
// encoder:
//
//   - AppendString: encoding/json's Marshal (HTML-safe: <, > and & escaped;
//     \b \f short escapes; U+2028/2029 escaped; invalid UTF-8 replaced by
//     U+FFFD).
//   - AppendSlogString: log/slog's JSONHandler (no HTML escaping; \b and \f
//     as \u0008 and \u000c; U+2028/2029 escaped; invalid UTF-8 refused).
//   - AppendProtoString: protojson (no HTML escaping; \b \f short escapes;
//     U+2028/2029 as they are; invalid UTF-8 refused).
//
// AppendFloat and AppendArray write a float64 and a slice as
// encoding/json does.
//
// A variant that refuses reports ok false and the caller falls back to the
// standard encoder, so every result is the standard encoder's; the tests
// compare each variant with its encoder (fuzz tests included).
// Issue 15, ADR 0053.
package jsonwrite
