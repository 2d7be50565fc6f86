package jsonfast

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Reader is a strict pull reader over one JSON text. After the first
// failure every method reports false (Failed is then true): callers check
// the result of each call or Failed at the end, and on failure decode the
// input again with encoding/json.
type Reader struct {
	b      []byte
	i      int
	failed bool
}

// NewReader returns a reader over b.
func NewReader(b []byte) Reader { return Reader{b: b} }

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
	for j := start; j < len(r.b); j++ {
		c := r.b[j]
		if c == '"' {
			r.i = j + 1
			if r.Peek() != ':' {
				return nil, r.fail()
			}
			r.i++
			return r.b[start:j], true
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	return nil, r.fail()
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
	start := r.i + 1
	j := start
	for j < len(r.b) {
		c := r.b[j]
		if c == '"' {
			s := r.b[start:j]
			if !utf8.Valid(s) {
				return "", r.fail()
			}
			r.i = j + 1
			return string(s), true
		}
		if c == '\\' {
			return r.escaped(start, j)
		}
		if c < 0x20 {
			return "", r.fail()
		}
		j++
	}
	return "", r.fail()
}

// skipString checks the string at r.i and moves past it.
func (r *Reader) skipString() bool {
	start := r.i + 1
	for j := start; j < len(r.b); {
		c := r.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(r.b[start:j]) {
				return r.fail()
			}
			r.i = j + 1
			return true
		case c < 0x20:
			return r.fail()
		case c != '\\':
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return r.fail()
		}
		switch r.b[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j += 2
		case 'u':
			_, n, ok := r.unicode(j)
			if !ok {
				return r.fail()
			}
			j += n
		default:
			return r.fail()
		}
	}
	return r.fail()
}

// escaped reads the rest of a string that has an escape at j.
func (r *Reader) escaped(start, j int) (string, bool) {
	out := make([]byte, 0, j-start+16)
	out = append(out, r.b[start:j]...)
	for j < len(r.b) {
		c := r.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", r.fail()
			}
			r.i = j + 1
			return string(out), true
		case c < 0x20:
			return "", r.fail()
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(r.b) {
			return "", r.fail()
		}
		switch e := r.b[j+1]; e {
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
	return "", r.fail()
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
	if hi >= 0xDC00 || j+12 > len(r.b) || r.b[j+6] != '\\' || r.b[j+7] != 'u' {
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
	n, err := strconv.ParseInt(string(lit), 10, 64)
	if err != nil {
		return 0, r.fail()
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
	_, ok := r.Raw()
	return ok
}

// Raw reads any value, checked, and returns its bytes.
func (r *Reader) Raw() ([]byte, bool) {
	c := r.Peek()
	start := r.i
	var ok bool
	switch {
	case c == '{':
		ok = r.skipContainer(true)
	case c == '[':
		ok = r.skipContainer(false)
	case c == '"':
		ok = r.skipString()
	case c == 't' || c == 'f':
		_, ok = r.Bool()
	case c == 'n':
		ok = r.Null()
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok = r.number()
	default:
		ok = r.fail()
	}
	if !ok {
		return nil, false
	}
	return r.b[start:r.i], true
}

// maxDepth bounds nesting (encoding/json's limit is 10000).
const maxDepth = 1000

func (r *Reader) skipContainer(object bool) bool {
	depth := 0
	return r.skipIn(object, &depth)
}

func (r *Reader) skipIn(object bool, depth *int) bool {
	if *depth++; *depth > maxDepth {
		return r.fail()
	}
	r.i++ // the bracket
	closer := byte(']')
	if object {
		closer = '}'
	}
	for first := true; r.more(first, closer); first = false {
		if object {
			// Any valid name: skipped members are not matched.
			if r.Peek() != '"' || !r.skipString() {
				return r.fail()
			}
			if r.Peek() != ':' {
				return r.fail()
			}
			r.i++
		}
		var ok bool
		switch r.Peek() {
		case '{':
			ok = r.skipIn(true, depth)
		case '[':
			ok = r.skipIn(false, depth)
		default:
			ok = r.Skip()
		}
		if !ok {
			return false
		}
	}
	*depth--
	return !r.failed
}

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
