package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/openai/openai-go/v3/packages/ssestream"
)

// sseEvents reads every event and the error with sseReader, from r.
func sseEvents(r io.Reader) ([]sseEvent, error) {
	dec := newSSEReader(r)
	defer dec.close()
	var out []sseEvent
	for dec.next() {
		ev := dec.event()
		out = append(out, sseEvent{Type: ev.Type, Data: bytes.Clone(ev.Data)})
	}
	return out, dec.readErr()
}

// decoderEvents reads every event and the error with openai-go's decoder.
func decoderEvents(r io.Reader) ([]sseEvent, error) {
	dec := ssestream.NewDecoder(&http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(r)})
	var out []sseEvent
	for dec.Next() {
		ev := dec.Event()
		out = append(out, sseEvent{Type: ev.Type, Data: ev.Data})
	}
	return out, dec.Err()
}

func sameEvents(t *testing.T, input []byte, got, want []sseEvent, gotErr, wantErr error) {
	t.Helper()
	if !errors.Is(gotErr, wantErr) && (gotErr == nil || wantErr == nil || gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%q: error %v, decoder's %v", input, gotErr, wantErr)
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d events, decoder's %d: %q / %q", input, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i].Type != want[i].Type || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("%q: event %d is %q, decoder's %q", input, i, got[i], want[i])
		}
	}
}

// chunked returns the reads of b in pieces of the given sizes, cycled
// (0: an empty read), ending with io.EOF or err.
type chunked struct {
	b     []byte
	sizes []int
	i     int
	err   error
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = c.sizes[c.i%len(c.sizes)]
		c.i++
	}
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

var sseCases = []string{
	"",
	"data: {\"a\":1}\n\n",
	"data: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n",
	"data:{\"a\":1}\n\ndata:  two spaces\n\n",
	"event: error\ndata: {\"error\":{\"code\":\"x\"}}\n\n",
	"event: ping\n\nevent: x\ndata: a\ndata: b\n\n",
	": comment\nid: 7\nretry: 10\ndata: a\n\n",
	"data: unterminated",
	"data: a\n",
	"data: a\n\n\n\n\ndata: b\n\n",
	"data\n\n",
	"data: a\r\r\n\n",
	"\n\n\ndata: x\ndata:\n\n",
	"event:\ndata: y\n\n",
	"nocolon\ndata: z\n\n",
}

func TestSSEReaderIsSSEStream(t *testing.T) {
	long := "data: " + string(bytes.Repeat([]byte("x"), 20000)) + "\n\n"
	for _, in := range append(sseCases, long, long+long+"data: [DONE]\n\n") {
		for _, sizes := range [][]int{nil, {1}, {0, 3, 0, 7}, {4096}, {100000}} {
			got, gotErr := sseEvents(&chunked{b: []byte(in), sizes: sizes})
			want, wantErr := decoderEvents(&chunked{b: []byte(in), sizes: sizes})
			sameEvents(t, []byte(in), got, want, gotErr, wantErr)
		}
	}
}

func TestSSEReaderErrorsAsSSEStream(t *testing.T) {
	boom := errors.New("connection reset")
	for _, in := range sseCases {
		// A read error after the bytes, and one that comes with the last.
		got, gotErr := sseEvents(&chunked{b: []byte(in), sizes: []int{5}, err: boom})
		want, wantErr := decoderEvents(&chunked{b: []byte(in), sizes: []int{5}, err: boom})
		sameEvents(t, []byte(in), got, want, gotErr, wantErr)
		got, gotErr = sseEvents(iotest.DataErrReader(&chunked{b: []byte(in), sizes: []int{5}, err: boom}))
		want, wantErr = decoderEvents(iotest.DataErrReader(&chunked{b: []byte(in), sizes: []int{5}, err: boom}))
		sameEvents(t, []byte(in), got, want, gotErr, wantErr)
	}
	// A reader that never returns anything.
	got, gotErr := sseEvents(&chunked{b: []byte("data: a"), sizes: []int{0}})
	want, wantErr := decoderEvents(&chunked{b: []byte("data: a"), sizes: []int{0}})
	if !errors.Is(gotErr, io.ErrNoProgress) {
		t.Fatalf("empty reads: %v", gotErr)
	}
	sameEvents(t, nil, got, want, gotErr, wantErr)
}

// TestSSEReaderBuffersAreReused: the line buffer goes back to the pool
// and a stream's events share one data buffer, valid until the next.
func TestSSEReaderBuffersAreReused(t *testing.T) {
	in := []byte("data: one\n\ndata: two\n\n")
	allocs := testing.AllocsPerRun(100, func() {
		dec := newSSEReader(bytes.NewReader(in))
		for dec.next() {
		}
		dec.close()
	})
	// The reader itself and bytes.NewReader's; no line buffer, no data per event.
	if allocs > 3 {
		t.Fatalf("%v allocations per stream, want at most 3", allocs)
	}
}

func FuzzSSEReaderIsSSEStream(f *testing.F) {
	for _, c := range sseCases {
		f.Add([]byte(c), uint8(1), uint8(0))
	}
	f.Add([]byte("data: a\n\ndata: b\n\n"), uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, size, mode uint8) {
		sizes := []int{int(size)}
		var err error
		if mode%2 == 1 {
			err = errors.New("reset")
		}
		if mode >= 128 {
			sizes = append(sizes, 0)
		}
		got, gotErr := sseEvents(&chunked{b: in, sizes: sizes, err: err})
		want, wantErr := decoderEvents(&chunked{b: in, sizes: sizes, err: err})
		sameEvents(t, in, got, want, gotErr, wantErr)
	})
}
