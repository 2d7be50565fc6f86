package openai

// peekStream is inspect's fast path: one pass over a body already known to
// be valid UTF-8 that checks the JSON syntax and finds the top-level
// "stream" member, without encoding/json's decoder and reflection (which
// were ~2 % of the edge's CPU per chat completion, issue 15).
//
// It only ever answers for bodies whose answer it is sure of: a top-level
// object, valid per RFC 8259, whose member names are plain ASCII without
// escapes, with at most one name that is "stream" in any ASCII case and no
// name that encoding/json might also match to it (one with '_' or '-' or
// non-ASCII letters), no escaped lone surrogate and no nesting deeper than
// maxPeekDepth. For everything else — every malformed body among them — ok
// is false and inspect asks encoding/json, whose errors the clients see.
// raw is the stream member's value as written (nil when absent).
func peekStream(b []byte) (raw []byte, ok bool) {
	p := peeker{b: b}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false
	}
	if !p.open('}') {
		for {
			name, isStream, ok := p.name()
			if !ok {
				return nil, false
			}
			if !p.colon() {
				return nil, false
			}
			start := p.i
			if !p.value(1) {
				return nil, false
			}
			if isStream {
				if raw != nil {
					return nil, false // a repeated name: encoding/json decides
				}
				raw = p.b[start:p.i]
			} else if mayMatchStream(name) {
				return nil, false
			}
			c := p.next()
			if c == '}' {
				break
			}
			if c != ',' {
				return nil, false
			}
			p.space()
		}
	}
	p.space()
	return raw, p.i == len(p.b)
}

// maxPeekDepth bounds the fast path's nesting (encoding/json allows
// 10,000 levels; deeper bodies go to it).
const maxPeekDepth = 64

type peeker struct {
	b []byte
	i int
}

func (p *peeker) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// name reads a member name and its colon's leading white space: plain
// ASCII without escapes only.
func (p *peeker) name() (name []byte, isStream, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	for i := start; i < len(p.b); i++ {
		c := p.b[i]
		switch {
		case c == '"':
			p.i = i + 1
			name = p.b[start:i]
			return name, equalFoldASCII(name, "stream"), true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false, false
		}
	}
	return nil, false, false
}

// mayMatchStream reports whether encoding/json could match name to the
// stream field other than by plain ASCII case folding: without its '_'
// and '-' it reads "stream" (names are ASCII here).
func mayMatchStream(name []byte) bool {
	const want = "stream"
	j := 0
	for _, c := range name {
		if c == '_' || c == '-' {
			continue
		}
		if j == len(want) || c|0x20 != want[j] {
			return false
		}
		j++
	}
	return j == len(want)
}

func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func (p *peeker) colon() bool {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return false
	}
	p.i++
	p.space()
	return true
}

// value reads one JSON value at nesting depth.
func (p *peeker) value(depth int) bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return false
}

func (p *peeker) literal(lit string) bool {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return false
	}
	p.i += len(lit)
	return true
}

func (p *peeker) object(depth int) bool {
	if depth > maxPeekDepth {
		return false
	}
	if p.open('}') {
		return true
	}
	for {
		if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str() || !p.colon() || !p.value(depth) {
			return false
		}
		switch p.next() {
		case '}':
			return true
		case ',':
			p.space()
		default:
			return false
		}
	}
}

func (p *peeker) array(depth int) bool {
	if depth > maxPeekDepth {
		return false
	}
	if p.open(']') {
		return true
	}
	for {
		if !p.value(depth) {
			return false
		}
		switch p.next() {
		case ']':
			return true
		case ',':
			p.space()
		default:
			return false
		}
	}
}

// open steps over an object's or array's opening byte and the space after
// it; empty is true, with closing stepped over too, when nothing is inside.
func (p *peeker) open(closing byte) (empty bool) {
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == closing {
		p.i++
		return true
	}
	return false
}

// next skips the space after a member or an element and reads the byte
// that must follow it (a comma or the closing byte; 0 at the end).
func (p *peeker) next() byte {
	p.space()
	if p.i >= len(p.b) {
		return 0
	}
	p.i++
	return p.b[p.i-1]
}

// str reads a string (the body is valid UTF-8 already).
func (p *peeker) str() bool {
	for i := p.i + 1; i < len(p.b); i++ {
		c := p.b[i]
		switch {
		case c == '"':
			p.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(p.b) {
				return false
			}
			switch p.b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if !p.escapedRune(i + 1) {
					return false
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

// escapedRune checks the four hex digits of a \u escape at i; a
// surrogate half goes to encoding/json, which decides what it allows.
func (p *peeker) escapedRune(i int) bool {
	if len(p.b)-i < 4 {
		return false
	}
	var r rune
	for _, c := range p.b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return false
		}
	}
	return r < 0xD800 || r > 0xDFFF
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (p *peeker) number() bool {
	b, i := p.b, p.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			return false
		}
	}
	p.i = i
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
