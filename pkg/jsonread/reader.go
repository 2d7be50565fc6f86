package jsonread

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader is a strict pull reader over one JSON text. After the first
// failure every method reports false (Failed is then true): callers check
// the result of each call or Failed at the end, and on failure decode the
// input again with encoding/json.
type Reader struct {
	b            []byte
	i            int
	maxDepth     int
	failed       bool
	noSurrogates bool
}

// DefaultMaxDepth is Options.MaxDepth's default (encoding/json allows
// 10,000 levels; deeper values fail here and go to it).
const DefaultMaxDepth = 1000

// Options narrows what a Reader accepts, for a caller whose own tests pin
// which inputs it leaves to encoding/json. The zero value is NewReader's.
type Options struct {
	// MaxDepth bounds the nesting Skip and Raw read: the value they read
	// is level 1, each container inside it one more (0: DefaultMaxDepth).
	MaxDepth int
	// NoSurrogates fails on every \uD800–\uDFFF escape, a valid pair too
	// (by default a pair is read, a lone half fails).
	NoSurrogates bool
}

// NewReader returns a reader over b.
func NewReader(b []byte) Reader { return Reader{b: b, maxDepth: DefaultMaxDepth} }

// NewReaderOptions returns a reader over b that accepts what o allows.
func NewReaderOptions(b []byte, o Options) Reader {
	r := Reader{b: b, maxDepth: o.MaxDepth, noSurrogates: o.NoSurrogates}
	if r.maxDepth <= 0 {
		r.maxDepth = DefaultMaxDepth
	}
	return r
}

// Offset is the offset in the input of the next byte to read: after Raw,
// Offset()-len(raw) is where the value started.
func (r *Reader) Offset() int { return r.i }

// Failed reports whether any read failed.
func (r *Reader) Failed() bool { return r.failed }

func (r *Reader) fail() bool {
	r.failed = true
	return false
}

func (r *Reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// Peek returns the first byte of the next value ('{', '[', '"', 't', 'f',
// 'n', '-' or a digit), or 0 at the end or after a failure.
func (r *Reader) Peek() byte {
	if r.failed {
		return 0
	}
	if r.i < len(r.b) && r.b[r.i] > ' ' { // no white space: the common case
		return r.b[r.i]
	}
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

// Object starts reading an object.
func (r *Reader) Object() bool { return r.open('{') }

// Array starts reading an array.
func (r *Reader) Array() bool { return r.open('[') }

func (r *Reader) open(c byte) bool {
	if r.Peek() != c {
		return r.fail()
	}
	r.i++
	return true
}

// More reports whether the object being read has another member; it
// consumes the separating comma or the closing brace. first is true
// before the first member.
func (r *Reader) More(first bool) bool { return r.more(first, '}') }

// MoreElements is More for an array.
func (r *Reader) MoreElements(first bool) bool { return r.more(first, ']') }

func (r *Reader) more(first bool, closer byte) bool {
	c := r.Peek()
	switch {
	case r.failed:
		return false
	case c == closer:
		r.i++
		return false
	case c == '}' || c == ']':
		return r.fail()
	case first:
		return true
	case c == ',':
		r.i++
		return true
	}
	return r.fail()
}

// Name reads a member name and its colon. Only printable ASCII names
// without escapes are accepted (a name is then its bytes); anything else
// fails, since encoding/json may match it to a field in ways this reader
// does not.
func (r *Reader) Name() ([]byte, bool) {
	if r.Peek() != '"' {
		return nil, r.fail()
	}
	start := r.i + 1
	j := plainRun(r.b, start)
	if j >= len(r.b) || r.b[j] != '"' {
		return nil, r.fail()
	}
	r.i = j + 1
	if r.Peek() != ':' {
		return nil, r.fail()
	}
	r.i++
	return r.b[start:j], true
}

// Null consumes a null and reports whether there was one.
func (r *Reader) Null() bool {
	if r.Peek() != 'n' {
		return false
	}
	return r.literal("null")
}

func (r *Reader) literal(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return r.fail()
	}
	r.i += len(s)
	return true
}

// Bool reads true or false.
func (r *Reader) Bool() (bool, bool) {
	switch r.Peek() {
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	}
	return false, r.fail()
}

// String reads a string. Invalid UTF-8 and unpaired surrogate escapes
// fail (encoding/json replaces them with U+FFFD).
func (r *Reader) String() (string, bool) {
	if r.Peek() != '"' {
		return "", r.fail()
	}
	b := r.b
	start := r.i + 1
	for j := start; ; {
		j = plainRun(b, j)
		if j >= len(b) {
			return "", r.fail()
		}
		switch c := b[j]; {
		case c == '"':
			r.i = j + 1
			return string(b[start:j]), true
		case c == '\\':
			return r.escaped(start, j)
		case c < 0x20:
			return "", r.fail()
		default:
			n := runeLen(b[j:])
			if n == 0 {
				return "", r.fail()
			}
			j += n
		}
	}
}

// plain marks the bytes a string holds as they are, with nothing to
// check: printable ASCII other than '"' and '\\'. plainRun tests eight of
// them at a time as one word; other bytes are looked at one by one (UTF-8
// is checked in place, one sequence at a time).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Byte lanes of a 64-bit word: each byte 0x01, each byte 0x80.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// notPlain8 has the high bit set in the lane of the first byte of x
// (little-endian) that plain rejects, and none below it: 0 when all eight
// are plain. A byte of 0x80 or more has its own high bit; below 0x20 it
// gets one from subtracting 0x20, a '"' or '\\' (zero after the xor) from
// subtracting 1; an ASCII byte gets none from either. A lane's subtraction
// borrows from the next lane only when it is flagged itself, so the lowest
// flagged lane is exact: the first byte that is not plain.
func notPlain8(x uint64) uint64 {
	q := x ^ (lanes01 * '"')
	s := x ^ (lanes01 * '\\')
	return (x | (x - lanes01*0x20) | (q - lanes01) | (s - lanes01)) & lanes80
}

// plainRun returns the index of the first byte from j on that is not
// plain (len(b) if there is none). Eight bytes a step as one word while
// eight are left: a member name or short value is found in one step, as
// the body goes on behind it, where the table took a step per four bytes
// with a bounds check each (issue 15, ADR 0107).
func plainRun(b []byte, j int) int {
	for ; j+8 <= len(b); j += 8 {
		if m := notPlain8(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	for j < len(b) && plain[b[j]] {
		j++
	}
	return j
}

// runeLen is the length of the valid UTF-8 sequence that starts b (b[0]
// is not ASCII), or 0 when there is none (utf8.Valid's rule: overlong
// forms, surrogates and truncated sequences fail).
func runeLen(b []byte) int {
	if ru, n := utf8.DecodeRune(b); ru != utf8.RuneError || n > 1 {
		return n
	}
	return 0
}

// skipString checks the string at r.i and moves past it.
func (r *Reader) skipString() bool {
	b := r.b
	for j := r.i + 1; ; {
		j = plainRun(b, j)
		if j >= len(b) {
			return r.fail()
		}
		switch c := b[j]; {
		case c == '"':
			r.i = j + 1
			return true
		case c == '\\':
			n, ok := r.escapeLen(j)
			if !ok {
				return r.fail()
			}
			j += n
		case c < 0x20:
			return r.fail()
		default:
			n := runeLen(b[j:])
			if n == 0 {
				return r.fail()
			}
			j += n
		}
	}
}

// escapeLen checks the escape at j and returns its length.
func (r *Reader) escapeLen(j int) (int, bool) {
	if j+1 >= len(r.b) {
		return 0, false
	}
	switch r.b[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		_, n, ok := r.unicode(j)
		return n, ok
	}
	return 0, false
}

// escaped reads the rest of a string that has an escape at j.
func (r *Reader) escaped(start, j int) (string, bool) {
	b := r.b
	out := make([]byte, 0, j-start+16)
	out = append(out, b[start:j]...)
	for {
		k := plainRun(b, j)
		out = append(out, b[j:k]...)
		if j = k; j >= len(b) {
			return "", r.fail()
		}
		switch c := b[j]; {
		case c == '"':
			r.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", r.fail()
		case c != '\\':
			n := runeLen(b[j:])
			if n == 0 {
				return "", r.fail()
			}
			out = append(out, b[j:j+n]...)
			j += n
			continue
		}
		if j+1 >= len(b) {
			return "", r.fail()
		}
		switch e := b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru, n, ok := r.unicode(j)
			if !ok {
				return "", r.fail()
			}
			out = utf8.AppendRune(out, ru)
			j += n
			continue
		default:
			return "", r.fail()
		}
		j += 2
	}
}

// unicode decodes \uXXXX (and a following low surrogate) at j.
func (r *Reader) unicode(j int) (rune, int, bool) {
	hi, ok := hex4(r.b, j+2)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(hi) {
		return hi, 6, true
	}
	if r.noSurrogates || hi >= 0xDC00 || j+12 > len(r.b) || r.b[j+6] != '\\' || r.b[j+7] != 'u' {
		return 0, 0, false
	}
	lo, ok := hex4(r.b, j+8)
	if !ok || lo < 0xDC00 || lo > 0xDFFF {
		return 0, 0, false
	}
	return utf16.DecodeRune(hi, lo), 12, true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// number returns the next number literal, checked against JSON's grammar.
func (r *Reader) number() ([]byte, bool) {
	r.ws()
	start, j := r.i, r.i
	digits := func() bool {
		k := j
		for j < len(r.b) && '0' <= r.b[j] && r.b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(r.b) && r.b[j] == '-' {
		j++
	}
	switch {
	case j < len(r.b) && r.b[j] == '0':
		j++
	case !digits():
		return nil, r.fail()
	}
	if j < len(r.b) && r.b[j] == '.' {
		j++
		if !digits() {
			return nil, r.fail()
		}
	}
	if j < len(r.b) && (r.b[j] == 'e' || r.b[j] == 'E') {
		j++
		if j < len(r.b) && (r.b[j] == '+' || r.b[j] == '-') {
			j++
		}
		if !digits() {
			return nil, r.fail()
		}
	}
	r.i = j
	return r.b[start:j], true
}

// Int reads an integer literal that fits in 64 bits (a fraction or an
// exponent fails: encoding/json refuses them for integer fields).
func (r *Reader) Int() (int64, bool) {
	if r.failed {
		return 0, false
	}
	lit, ok := r.number()
	if !ok {
		return 0, false
	}
	if n, ok := smallUint(lit); ok {
		return n, true
	}
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return 0, r.fail()
	}
	return n, true
}

// smallUint is the value of a number literal of at most 18 digits and
// nothing else (no sign, fraction or exponent; it cannot overflow), read
// without strconv: token counts and a choice's index, a ParseInt call
// each (ADR 0120). Anything else reports false.
func smallUint(lit []byte) (int64, bool) {
	if len(lit) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range lit {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Float reads a number as a float64 (out of range fails).
func (r *Reader) Float() (float64, bool) {
	if r.failed {
		return 0, false
	}
	lit, ok := r.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return 0, r.fail()
	}
	return f, true
}

// Skip reads and checks any value.
func (r *Reader) Skip() bool {
	if r.Peek() == 0 {
		return r.fail()
	}
	return r.skipValue(0)
}

// Raw reads any value, checked, and returns its bytes.
func (r *Reader) Raw() ([]byte, bool) {
	if r.Peek() == 0 {
		return nil, r.fail()
	}
	start := r.i
	if !r.skipValue(0) {
		return nil, false
	}
	return r.b[start:r.i], true
}

// skipValue checks the value that starts at r.i, inside containers
// depth deep, and moves past it.
func (r *Reader) skipValue(depth int) bool {
	switch c := r.b[r.i]; {
	case c == '"':
		return r.skipString()
	case c == '{':
		return r.skipContainer('}', depth+1)
	case c == '[':
		return r.skipContainer(']', depth+1)
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok := r.number()
		return ok
	}
	return r.fail()
}

// skipContainer checks the object or array (by its closing byte) at r.i,
// the depth-th level of nesting.
func (r *Reader) skipContainer(closer byte, depth int) bool {
	if depth > r.maxDepth {
		return r.fail()
	}
	r.i++ // the bracket
	for first := true; r.more(first, closer); first = false {
		r.ws()
		if closer == '}' {
			// Any valid name: skipped members are not matched.
			if !r.at('"') || !r.skipString() {
				return r.fail()
			}
			if r.ws(); !r.at(':') {
				return r.fail()
			}
			r.i++
			r.ws()
		}
		if r.i >= len(r.b) || !r.skipValue(depth) {
			return r.fail()
		}
	}
	return !r.failed
}

// at reports whether the next byte is c.
func (r *Reader) at(c byte) bool { return r.i < len(r.b) && r.b[r.i] == c }

// End reports whether only whitespace is left and nothing failed.
func (r *Reader) End() bool {
	if r.failed {
		return false
	}
	r.ws()
	return r.i == len(r.b)
}

// FoldEqual reports whether name might match field under encoding/json's
// case-insensitive matching: equal with ASCII case folded and underscores
// and dashes ignored (a superset of what encoding/json folds, so a caller
// that falls back on it never misses one). Callers fall back to
// encoding/json when a name is FoldEqual to a field but not equal to it.
func FoldEqual(name []byte, field string) bool {
	i, j := 0, 0
	for {
		for i < len(name) && (name[i] == '_' || name[i] == '-') {
			i++
		}
		for j < len(field) && (field[j] == '_' || field[j] == '-') {
			j++
		}
		if i == len(name) || j == len(field) {
			return i == len(name) && j == len(field)
		}
		if lower(name[i]) != lower(field[j]) {
			return false
		}
		i++
		j++
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
