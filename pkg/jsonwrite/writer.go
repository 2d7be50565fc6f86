package jsonwrite

import (
	"encoding/json/jsontext"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// rules is how one encoder quotes a string.
type rules struct {
	safe       [256]bool // bytes written as they are (ASCII only: false from 0x80)
	html       bool      // <, > and & are not safe (the only unsafe printable ASCII besides '"' and '\\')
	shortBF    bool      // \b and \f as short escapes (else \u0008, \u000c)
	lineSep    bool      // U+2028 and U+2029 escaped
	replaceBad bool      // an invalid UTF-8 byte becomes U+FFFD (else: refused)
}

// safeASCII marks the printable ASCII bytes (0x7f included, as every
// encoder here writes DEL as is) other than '"', '\\' and those in extra.
func safeASCII(extra string) (t [256]bool) {
	for c := byte(' '); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	for i := range len(extra) {
		t[extra[i]] = false
	}
	return t
}

var (
	marshalRules = rules{safe: safeASCII("<>&"), html: true, shortBF: true, lineSep: true, replaceBad: true}
	slogRules    = rules{safe: safeASCII(""), lineSep: true}
	protoRules   = rules{safe: safeASCII(""), shortBF: true}
)

// AppendString appends s as a JSON string, escaped as encoding/json's
// Marshal escapes it: the short escapes for \b \f \n \r \t, \u00XX for the
// other control characters, <, > and & as \u003c \u003e \u0026 (HTML-safe),
// U+2028 and U+2029 escaped, each invalid UTF-8 byte replaced by U+FFFD
// (unescaped).
func AppendString(b []byte, s string) []byte {
	b, _ = appendString(b, s, &marshalRules)
	return b
}

// AppendSlogString appends s quoted as log/slog's JSON handler quotes it
// (\n \r \t short, other control characters as \u00XX, HTML characters
// as they are, U+2028 and U+2029 escaped), or reports false, with b
// partly written, when s is not valid UTF-8: slog's replacement for an
// invalid byte depends on the encoding/json/v2 experiment, so the caller
// leaves such a string to slog.
func AppendSlogString(b []byte, s string) ([]byte, bool) {
	return appendString(b, s, &slogRules)
}

// AppendProtoString appends s quoted as protojson quotes it: '"' and '\'
// escaped, control characters as \b \f \n \r \t or \u00XX, everything
// else (HTML characters, U+2028/2029) as is. It reports false, with b
// partly written, when s is not valid UTF-8 (protojson fails on it).
func AppendProtoString(b []byte, s string) ([]byte, bool) {
	return appendString(b, s, &protoRules)
}

func appendString(b []byte, s string, r *rules) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// The run of bytes written as they are, in a loop of its own: one
		// look-up per byte, where the loop's checks for ASCII and safety
		// cost ~15 instructions per byte of every log line (issue 15,
		// ADR 0066), and before it eight bytes at a time while all eight
		// are safe: ~3 instructions a byte where the look-up loop took
		// ~11 on the strings of a secret's answer (ADR 0109).
		for i+8 <= len(s) {
			if x := word(s[i:]); unsafeByte(x) != 0 || r.html && htmlByte(x) != 0 {
				break
			}
			i += 8
		}
		// Fewer than eight left: the string's last eight bytes, which hold
		// them, at once.
		if i < len(s) && i+8 > len(s) && len(s) >= 8 {
			if x := word(s[len(s)-8:]); unsafeByte(x) == 0 && (!r.html || htmlByte(x) == 0) {
				i = len(s)
			}
		}
		for i < len(s) && r.safe[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			b = appendEscapedASCII(b, c, r.shortBF)
			i++
			start = i
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		if rn == utf8.RuneError && size == 1 {
			if !r.replaceBad {
				return b, false
			}
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...) // the character itself, as encoding/json writes it
			i += size
			start = i
			continue
		}
		if r.lineSep && (rn == '\u2028' || rn == '\u2029') {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[rn&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

// Bytes repeated in a word, for unsafeByte and htmlByte.
const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// word is the first eight bytes of s (at least eight), little end first:
// one load.
func word(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasZeroByte is not zero exactly when a byte of x is zero (the classic
// (x - 0x01…) & ^x & 0x80…: a borrow may mark the wrong byte, never a
// word without a zero byte).
func hasZeroByte(x uint64) uint64 { return (x - ones) & ^x & high }

// unsafeByte is not zero exactly when a byte of x is not ASCII, is a
// control character (below 0x20), '"' or '\\': the bytes no variant
// writes as they are. For a word of ASCII bytes, (x - 0x20…) & ^x &
// 0x80… marks a byte below 0x20 (the "has less than" form of
// hasZeroByte); a word with a high bit is marked by x & 0x80… whatever
// the rest gives.
func unsafeByte(x uint64) uint64 {
	return x&high | (x-ones*0x20)&^x&high | hasZeroByte(x^(ones*'"')) | hasZeroByte(x^(ones*'\\'))
}

// htmlByte is not zero exactly when a byte of x is '<', '>' or '&', which
// the variants with rules.html also escape.
func htmlByte(x uint64) uint64 {
	return hasZeroByte(x^(ones*'<')) | hasZeroByte(x^(ones*'>')) | hasZeroByte(x^(ones*'&'))
}

// appendEscapedASCII appends the escape of an ASCII byte that is not safe.
func appendEscapedASCII(b []byte, c byte, shortBF bool) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	case '\b':
		if shortBF {
			return append(b, '\\', 'b')
		}
	case '\f':
		if shortBF {
			return append(b, '\\', 'f')
		}
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// AppendFloat appends f as encoding/json writes a float64 (ES6 number
// format: shortest round-trip digits, exponent below 1e-6 and from 1e21).
func AppendFloat(b []byte, f float64) []byte { return jsontext.AppendFloat(b, f, 64) }

// AppendArray appends s as encoding/json writes a slice: null when s is
// nil, else [e0,e1,...] with each element written by elem.
func AppendArray[T any](b []byte, s []T, elem func([]byte, *T) []byte) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &s[i])
	}
	return append(b, ']')
}

// AppendStringElem writes *s with AppendString: AppendArray's element
// writer for a []string.
func AppendStringElem(b []byte, s *string) []byte { return AppendString(b, *s) }
