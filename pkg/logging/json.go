package logging

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/jsonwrite"
)

// jsonHandler writes the lines of slog.NewJSONHandler byte for byte, with
// a faster encoder for the records every request logs (issue 15: slog's
// handler was ~3 % of the edge's CPU per chat completion, for one access
// line). A record whose attributes are all strings (valid UTF-8), integers,
// booleans, durations or times, with no group open, is encoded here into a
// pooled buffer; anything else (groups, floats, arbitrary values, invalid
// UTF-8, times outside slog's year range, an empty key) goes to slow, the
// real slog.JSONHandler, which the tests compare this encoder against.
// Both write whole lines through one locked writer, so lines never
// interleave whichever path wrote them.
type jsonHandler struct {
	slow  slog.Handler // slog.NewJSONHandler on out, with the same attrs and groups
	out   *lockedWriter
	level slog.Leveler
	pre   []byte // the WithAttrs attributes, each as ,"key":value
	fast  bool   // false once a group is open or a WithAttrs attribute needs slow
}

// lockedWriter makes each Write of one line atomic for both paths. A
// *BufferedWriter (every service's log, pkg/backend) is already: it appends
// each Write whole under its own mutex, so a second lock per line is not
// taken (the log writer was the one contended mutex at c=64, ADR 0054).
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	atomic bool // w's Writes are atomic and safe for concurrent use
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.atomic {
		return l.w.Write(p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newJSONHandler(w io.Writer, level slog.Leveler) *jsonHandler {
	_, atomic := w.(*BufferedWriter)
	out := &lockedWriter{w: w, atomic: atomic}
	return &jsonHandler{slow: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level}), out: out, level: level, fast: true}
}

// Enabled implements slog.Handler (slog's rule: at or above the level).
func (h *jsonHandler) Enabled(_ context.Context, l slog.Level) bool {
	minLevel := slog.LevelInfo
	if h.level != nil {
		minLevel = h.level.Level()
	}
	return l >= minLevel
}

// Handle implements slog.Handler.
func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.fast {
		bp := getLineBuf()
		b, ok := h.begin(*bp, r.Time, r.Level, r.Message)
		if ok {
			r.Attrs(func(a slog.Attr) bool {
				b, ok = appendAttr(b, a)
				return ok
			})
		}
		if ok {
			return h.finish(bp, b)
		}
		putLineBuf(bp, b)
	}
	return h.slow.Handle(ctx, r)
}

// handleAttrs is Handle for a record of t, level, msg and attrs (no
// source position) without building the record; it reports false, having
// written nothing, when the record needs slog's own handler.
func (h *jsonHandler) handleAttrs(t time.Time, level slog.Level, msg string, attrs []slog.Attr) (bool, error) {
	if !h.fast {
		return false, nil
	}
	bp := getLineBuf()
	b, ok := h.begin(*bp, t, level, msg)
	for i := 0; ok && i < len(attrs); i++ {
		b, ok = appendAttr(b, attrs[i])
	}
	if !ok {
		putLineBuf(bp, b)
		return false, nil
	}
	return true, h.finish(bp, b)
}

// begin appends slog's built-in keys (time, level, msg) and the WithAttrs
// attributes.
func (h *jsonHandler) begin(b []byte, t time.Time, level slog.Level, msg string) ([]byte, bool) {
	b = append(b, '{')
	if !t.IsZero() {
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, `"time":"`...)
		b = appendRFC3339Nano(b, t)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	// The four named levels as slog quotes them, without quoting them
	// again on every line (issue 15, ADR 0090).
	switch level {
	case slog.LevelInfo:
		b = append(b, `"INFO"`...)
	case slog.LevelError:
		b = append(b, `"ERROR"`...)
	case slog.LevelWarn:
		b = append(b, `"WARN"`...)
	case slog.LevelDebug:
		b = append(b, `"DEBUG"`...)
	default:
		b, _ = jsonwrite.AppendSlogString(b, level.String()) // ASCII: always valid
	}
	b = append(b, `,"msg":`...)
	b, ok := jsonwrite.AppendSlogString(b, msg)
	return append(b, h.pre...), ok
}

func (h *jsonHandler) finish(bp *[]byte, b []byte) error {
	b = append(b, "}\n"...)
	_, err := h.out.Write(b)
	putLineBuf(bp, b)
	return err
}

// WithAttrs implements slog.Handler.
func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := &jsonHandler{slow: h.slow.WithAttrs(attrs), out: h.out, level: h.level, fast: h.fast}
	if h2.fast {
		pre := append([]byte(nil), h.pre...)
		for _, a := range attrs {
			var ok bool
			if pre, ok = appendAttr(pre, a); !ok {
				h2.fast = false
				break
			}
		}
		h2.pre = pre
	}
	return h2
}

// WithGroup implements slog.Handler: records under a group (even one
// named "", which slog's handler opens too) go to slog.
func (h *jsonHandler) WithGroup(name string) slog.Handler {
	return &jsonHandler{slow: h.slow.WithGroup(name), out: h.out, level: h.level}
}

// appendAttr appends ,"key":value the way slog's JSON handler does, or
// reports false for an attribute only slog's handler may write.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" { // slog drops an empty attribute, inlines a group
		return b, false
	}
	v := resolve(a.Value)
	b = append(b, ',')
	b, ok := jsonwrite.AppendSlogString(b, a.Key)
	if !ok {
		return b, false
	}
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		return jsonwrite.AppendSlogString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	case slog.KindDuration:
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, '"')
		b = appendRFC3339Nano(b, t)
		return append(b, '"'), true
	default: // floats (encoding/json's format), groups, arbitrary values
		return b, false
	}
}

// lineBufs holds the encoders' buffers; a line over 16 KB is not kept.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getLineBuf() *[]byte {
	bp, _ := lineBufs.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 0, 1024)
		bp = &b
	}
	*bp = (*bp)[:0]
	return bp
}

func putLineBuf(bp *[]byte, b []byte) {
	if cap(b) > 16<<10 {
		return
	}
	*bp = b[:0]
	lineBufs.Put(bp)
}
