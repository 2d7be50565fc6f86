package openai

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// sseEvent is one Server-Sent Event: its type ("event:", empty when the
// event has none) and its data lines, each followed by a newline.
type sseEvent struct {
	Type string
	Data []byte
}

// sseMaxLine is the longest line sseReader reads, as openai-go's decoder
// sets its bufio.Scanner's (bufio.MaxScanTokenSize<<9, 32 MiB).
const sseMaxLine = bufio.MaxScanTokenSize << 9

// sseBufSize is a pooled line buffer's size, bufio.Scanner's first.
const sseBufSize = 4096

// sseBufs are the readers' line buffers. A buffer grown past 64 KB for a
// long line is dropped instead of pooled.
var sseBufs = sync.Pool{New: func() any { b := make([]byte, sseBufSize); return &b }}

// sseReader frames an event stream exactly as openai-go's ssestream
// decoder (ADR 0048) does for a chat stream — lines split at "\n" with one
// "\r" before it dropped (bufio.ScanLines), a line's field name before the
// first ":" and one space after it dropped, "event" setting the type,
// "data" appending the value and a newline, a blank line ending an event
// that has data, other fields and comments ignored, an unfinished event at
// the end dropped — with a pooled line buffer and one data buffer per
// stream: the decoder allocated a 4 KB buffer per stream and a data slice
// per event, a third of the bytes a streamed completion allocated, and
// parsed the Content-Type (mime.ParseMediaType) to look for decoders
// nobody registers (issue 15, ADR 0122). FuzzSSEReaderIsSSEStream holds it
// to the decoder's events and errors.
//
// An event's Data is valid until the next call to next; close returns the
// line buffer to the pool.
type sseReader struct {
	r     io.Reader
	bp    *[]byte
	buf   []byte
	start int // the unread bytes are buf[start:end]
	end   int
	// eof: no more reads; the buffered lines are still read, then err
	// is stopErr (nil at the end of the stream), as bufio.Scanner does.
	eof     bool
	stopErr error
	err     error
	ev      sseEvent
	data    []byte
}

// newSSEReader reads events from r.
func newSSEReader(r io.Reader) *sseReader {
	bp, _ := sseBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, sseBufSize)
		bp = &b
	}
	return &sseReader{r: r, bp: bp, buf: *bp}
}

// close returns the line buffer; the reader must not be used afterwards.
func (s *sseReader) close() {
	if s.bp == nil {
		return
	}
	if cap(s.buf) <= 64<<10 {
		*s.bp = s.buf[:cap(s.buf)]
		sseBufs.Put(s.bp)
	}
	s.bp, s.buf = nil, nil
}

// next reads the next event; false at the end of the stream or on an
// error (err).
func (s *sseReader) next() bool {
	if s.err != nil {
		return false
	}
	typ := ""
	s.data = s.data[:0]
	for {
		line, ok := s.line()
		if !ok {
			return false
		}
		if len(line) == 0 {
			if len(s.data) == 0 {
				typ = ""
				continue
			}
			s.ev = sseEvent{Type: typ, Data: s.data}
			return true
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(name) {
		case "event":
			typ = string(value)
		case "data":
			s.data = append(s.data, value...)
			s.data = append(s.data, '\n')
		}
	}
}

// event is the event next read.
func (s *sseReader) event() sseEvent { return s.ev }

// readErr is what ended the reads (nil: the stream's end).
func (s *sseReader) readErr() error { return s.err }

// line returns the next line without its "\n" (and one "\r" before it),
// as bufio.ScanLines does; false at the end or on an error. The line is
// valid until the next call.
func (s *sseReader) line() ([]byte, bool) {
	for {
		if s.end > s.start {
			if i := bytes.IndexByte(s.buf[s.start:s.end], '\n'); i >= 0 {
				line := dropCR(s.buf[s.start : s.start+i])
				s.start += i + 1
				return line, true
			}
		}
		if s.eof {
			if s.end > s.start {
				line := dropCR(s.buf[s.start:s.end])
				s.start = s.end
				return line, true
			}
			s.err = s.stopErr
			return nil, false
		}
		s.fill()
	}
}

// fill reads more bytes, first moving the unread ones to the front or
// growing the buffer (doubling, up to sseMaxLine) when it is full, as
// bufio.Scanner does. It stops the reads (eof) at the end, on an error,
// at a line longer than sseMaxLine (bufio.ErrTooLong) and after more than
// 100 empty reads in a row (io.ErrNoProgress).
func (s *sseReader) fill() {
	if s.start > 0 && (s.end == len(s.buf) || s.start > len(s.buf)/2) {
		copy(s.buf, s.buf[s.start:s.end])
		s.end -= s.start
		s.start = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= sseMaxLine {
			s.stop(bufio.ErrTooLong)
			return
		}
		nb := make([]byte, min(len(s.buf)*2, sseMaxLine))
		copy(nb, s.buf[s.start:s.end])
		s.end -= s.start
		s.start = 0
		s.buf = nb
	}
	for empty := 0; ; {
		n, err := s.r.Read(s.buf[s.end:])
		if n < 0 || n > len(s.buf)-s.end {
			s.stop(bufio.ErrBadReadCount)
			return
		}
		s.end += n
		if err != nil {
			if err == io.EOF { //nolint:errorlint // io.Reader returns io.EOF itself, as bufio.Scanner checks
				err = nil
			}
			s.stop(err)
			return
		}
		if n > 0 {
			return
		}
		if empty++; empty > 100 {
			s.stop(io.ErrNoProgress)
			return
		}
	}
}

// stop ends the reads; err (nil: the stream's end) is reported once the
// buffered lines are read.
func (s *sseReader) stop(err error) { s.eof, s.stopErr = true, err }

// dropCR drops one terminal "\r".
func dropCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}
