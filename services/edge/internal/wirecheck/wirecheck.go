package wirecheck

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
)

// Refusal is what the server reads in place of a refused line: not a
// request line (no spaces), not a header or trailer line (no colon), not a
// chunk size (not hex) and not the CRLF after chunk data.
const Refusal = "!\r\n\r\n"

// maxLine bounds a buffered line; a longer one is refused (net/http caps a
// request head at MaxHeaderBytes, 64 KiB at the edge, and chunk lines at
// 4 KiB, so no request it accepts is refused here for length).
const maxLine = 128 << 10

const readChunk = 4 << 10

// NewListener returns l with every accepted connection checked (see the
// package doc). Use it for plaintext HTTP/1.1 listeners only.
func NewListener(l net.Listener) net.Listener { return &listener{Listener: l} }

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return NewConn(c), nil
}

// NewConn wraps one connection.
func NewConn(c net.Conn) *Conn { return &Conn{Conn: c} }

// Conn is a connection whose reads deliver only checked bytes.
type Conn struct {
	net.Conn
	// buf[start:ready] is checked and not yet delivered; buf[ready:] is
	// pending (the start of a line not yet complete).
	buf          []byte
	start, ready int
	f            framer
	// refused: the refusal has been queued; once delivered, reads end.
	refused bool
	reason  string
}

// Reason returns why the connection was refused, or "" (for tests and logs).
func (c *Conn) Reason() string { return c.reason }

// Read implements net.Conn.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.start < c.ready {
			n := copy(p, c.buf[c.start:c.ready])
			c.start += n
			return n, nil
		}
		if c.refused {
			return 0, io.EOF
		}
		if c.start == len(c.buf) && (c.f.state == stateBody || c.f.state == stateChunkData) && len(p) > 0 {
			// Body bytes need no checking: read them straight into p.
			c.buf, c.start, c.ready = c.buf[:0], 0, 0
			if int64(len(p)) > c.f.remaining {
				p = p[:c.f.remaining]
			}
			n, err := c.Conn.Read(p)
			c.f.bodyBytes(n)
			return n, err
		}
		c.compact()
		n, err := c.Conn.Read(c.buf[len(c.buf):cap(c.buf)])
		if n > 0 {
			c.buf = c.buf[:len(c.buf)+n]
			c.advance()
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && c.ready < len(c.buf) {
				// The peer ended mid-line: hand the rest over as it is; the
				// server fails on the truncated request.
				c.ready = len(c.buf)
				continue
			}
			// Never remember the error: a read deadline in the past is how
			// net/http interrupts its background read, and it resets it.
			return 0, err
		}
	}
}

// compact moves the pending bytes to the front and makes room to read.
func (c *Conn) compact() {
	if c.start > 0 {
		m := copy(c.buf, c.buf[c.start:])
		c.buf, c.ready, c.start = c.buf[:m], c.ready-c.start, 0
	}
	if len(c.buf) < cap(c.buf) {
		return
	}
	size := 2 * cap(c.buf)
	if size < readChunk {
		size = readChunk
	}
	nb := make([]byte, len(c.buf), size)
	copy(nb, c.buf)
	c.buf = nb
}

// advance checks the pending bytes as far as whole lines and body bytes go.
func (c *Conn) advance() {
	for c.ready < len(c.buf) && !c.refused {
		pending := c.buf[c.ready:]
		if n := c.f.bodyBytes(len(pending)); n > 0 {
			c.ready += n
			continue
		}
		i := bytes.IndexByte(pending, '\n')
		if i < 0 {
			if len(pending) > maxLine {
				c.refuse("line too long")
			}
			return
		}
		if reason := c.f.line(pending[:i+1]); reason != "" {
			c.refuse(reason)
			return
		}
		c.ready += i + 1
	}
}

func (c *Conn) refuse(reason string) {
	c.reason = reason
	c.refused = true
	c.buf = append(c.buf[:c.ready], Refusal...)
	c.ready = len(c.buf)
}

// CloseWrite half-closes the connection when the underlying one can
// (net/http uses it to flush a final response before closing).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

type state int

const (
	stateRequestLine state = iota
	stateHeader
	stateBody      // Content-Length bytes remain
	stateChunkSize // a chunk-size line
	stateChunkData // chunk bytes remain
	stateChunkEnd  // the CRLF after chunk data
	stateTrailer
)

// framer follows HTTP/1.1 request framing, one line at a time.
type framer struct {
	state     state
	remaining int64
	http10    bool
	cl        string // Content-Length value ("" none)
	clSeen    bool
	te        int // number of Transfer-Encoding fields
	chunked   bool
}

// bodyBytes consumes up to n body bytes and returns how many.
func (f *framer) bodyBytes(n int) int {
	if f.state != stateBody && f.state != stateChunkData {
		return 0
	}
	take := n
	if f.remaining < int64(n) {
		take = int(f.remaining) // < n, so it fits
	}
	f.remaining -= int64(take)
	if f.remaining == 0 {
		if f.state == stateBody {
			f.state = stateRequestLine
		} else {
			f.state = stateChunkEnd
		}
	}
	return take
}

// line checks one line (ending in '\n') and returns why it is refused, or "".
func (f *framer) line(l []byte) string {
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return "bare LF line ending"
	}
	body := l[:len(l)-2]
	if bytes.IndexByte(body, '\r') >= 0 {
		return "CR inside a line"
	}
	switch f.state {
	case stateRequestLine:
		if len(body) == 0 {
			return "" // an empty line before a request: net/http skips it
		}
		*f = framer{state: stateHeader, http10: bytes.HasSuffix(body, []byte(" HTTP/1.0"))}
		return ""
	case stateHeader:
		if len(body) == 0 {
			return f.endOfHead()
		}
		return f.header(body)
	case stateChunkSize:
		size, ok := chunkSize(body)
		if !ok {
			return "malformed chunk size"
		}
		if size == 0 {
			f.state = stateTrailer
		} else {
			f.state, f.remaining = stateChunkData, size
		}
		return ""
	case stateChunkEnd:
		if len(body) != 0 {
			return "chunk data longer than its size"
		}
		f.state = stateChunkSize
		return ""
	case stateTrailer:
		if len(body) == 0 {
			f.state = stateRequestLine
			return ""
		}
		if body[0] == ' ' || body[0] == '\t' {
			return "folded trailer line (obs-fold)"
		}
		return ""
	default:
		return "" // stateBody and stateChunkData never see lines
	}
}

func (f *framer) header(body []byte) string {
	if body[0] == ' ' || body[0] == '\t' {
		return "folded header line (obs-fold)"
	}
	name, value, ok := bytes.Cut(body, []byte(":"))
	if !ok {
		return "" // net/http refuses it
	}
	// The value is trimmed only for the two fields read here: trimming
	// every field's was ~1,400 instructions per chat request (ADR 0066).
	switch {
	case asciiEqualFold(name, "content-length"):
		v := string(bytes.Trim(value, " \t"))
		if f.clSeen && v != f.cl {
			return "conflicting Content-Length fields"
		}
		f.cl, f.clSeen = v, true
	case asciiEqualFold(name, "transfer-encoding"):
		f.te++
		f.chunked = asciiEqualFold(bytes.Trim(value, " \t"), "chunked")
	}
	return ""
}

func (f *framer) endOfHead() string {
	switch {
	case f.te > 0 && f.http10:
		return "Transfer-Encoding on an HTTP/1.0 request"
	case f.te > 0 && f.clSeen:
		return "both Transfer-Encoding and Content-Length"
	case f.te > 1 || f.te == 1 && !f.chunked:
		return "unsupported Transfer-Encoding"
	case f.chunked:
		f.state = stateChunkSize
	case f.clSeen:
		n, err := strconv.ParseInt(f.cl, 10, 64)
		if err != nil || f.cl[0] < '0' || f.cl[0] > '9' { // digits only, as net/http
			return "malformed Content-Length"
		}
		f.state, f.remaining = stateBody, n
		if n == 0 {
			f.state = stateRequestLine
		}
	default:
		f.state = stateRequestLine
	}
	return ""
}

// chunkSize parses a chunk-size line as net/http does: trailing whitespace
// trimmed, extensions after ';' dropped, then hex digits. net/http takes up
// to 16 digits; sizes of 2^60 bytes and more are refused here.
func chunkSize(body []byte) (int64, bool) {
	body = bytes.TrimRight(body, " \t")
	body, _, _ = bytes.Cut(body, []byte(";"))
	if len(body) == 0 || len(body) > 15 {
		return 0, false
	}
	var n int64
	for _, b := range body {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			b = b - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(b)
	}
	return n, true
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
