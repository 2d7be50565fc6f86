package logging

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/jsonwrite"
)

// New returns a JSON logger writing to w at level, with request/tenant ids
// and redaction (see NewHandler). Its lines are slog.NewJSONHandler's,
// written by a faster encoder where it can (jsonHandler).
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(NewHandler(newJSONHandler(w, level)))
}

// ParseLevel parses debug, info, warn or error (any case; also slog's
// "info+2" offsets).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return 0, fmt.Errorf("log level %q: %w", s, err)
	}
	return l, nil
}

// Handler wraps another slog.Handler, adding request_id and tenant_id from
// the context and redacting secrets from the message and all attributes.
type Handler struct {
	next slog.Handler
	red  *redactor
}

// NewHandler wraps next.
func NewHandler(next slog.Handler) *Handler {
	return &Handler{next: next, red: newRedactor()}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	// The redacted attributes are gathered first and added at once: one
	// AddAttrs per attribute grew the record's overflow slice several times
	// per access-log line (issue 15).
	var buf [16]slog.Attr
	attrs, ctxTenant := h.fromContext(ctx, buf[:0])
	r.Attrs(func(a slog.Attr) bool {
		attrs = h.add(attrs, ctxTenant, a)
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, h.red.String(r.Message), r.PC)
	out.AddAttrs(attrs...)
	return h.next.Handle(ctx, out)
}

// HandleAttrs handles the record of t, level, msg and attrs (no source
// position) exactly as Handle would. The access logs call it with the
// attributes they built: making a slog.Record of them first copied every
// attribute twice more and grew the record's overflow slice (issue 15).
func (h *Handler) HandleAttrs(ctx context.Context, t time.Time, level slog.Level, msg string, attrs ...slog.Attr) error {
	msg = h.red.String(msg)
	jh, isJSON := h.next.(*jsonHandler)
	if isJSON && jh.fast {
		if done, err := h.handleJSON(ctx, jh, t, level, msg, attrs); done {
			return err
		}
	}
	var buf [16]slog.Attr
	red, ctxTenant := h.fromContext(ctx, buf[:0])
	for _, a := range attrs {
		red = h.add(red, ctxTenant, a)
	}
	if isJSON {
		if done, err := jh.handleAttrs(t, level, msg, red); done {
			return err
		}
	}
	out := slog.NewRecord(t, level, msg, 0)
	out.AddAttrs(red...)
	return h.next.Handle(ctx, out)
}

// handleJSON is jh.handleAttrs of the attributes HandleAttrs would hand it
// (the context's ids, then attrs redacted by add), redacting and encoding
// each attribute in one step: the same bytes, without the redacted copy of
// the attributes and, for plain keys and strings, without a second pass
// over their bytes (appendJSON). It reports false, having written nothing,
// where jh.handleAttrs would.
func (h *Handler) handleJSON(ctx context.Context, jh *jsonHandler, t time.Time, level slog.Level, msg string, attrs []slog.Attr) (bool, error) {
	bp := getLineBuf()
	b, ok := jh.begin(*bp, t, level, msg)
	// The context's two ids as appendAttr writes them, their constant keys
	// quoted once here rather than on every line (issue 15, ADR 0090).
	if id := RequestID(ctx); ok && id != "" {
		b, ok = jsonwrite.AppendSlogString(append(b, `,"request_id":`...), id)
	}
	ctxTenant := false
	if id := TenantID(ctx); id != "" {
		ctxTenant = true
		if ok {
			b, ok = jsonwrite.AppendSlogString(append(b, `,"tenant_id":`...), id)
		}
	}
	for i := 0; ok && i < len(attrs); i++ {
		if ctxTenant && attrs[i].Key == "tenant_id" {
			continue
		}
		b, ok = h.appendJSON(b, attrs[i])
	}
	if !ok {
		putLineBuf(bp, b)
		return false, nil
	}
	return true, jh.finish(bp, b)
}

// appendJSON appends a as appendAttr(b, h.attr(a)) does. A key that
// plainJSON accepts is its own redaction, quotes as it is and is never
// sensitive (every word of SensitiveKey holds a trigger of the redactor,
// so no key plainJSON accepts ends in one; TestPlainKeysAreNotSensitive);
// a string value that plainJSON accepts is then written as it is too, and
// numbers and bools (which h.value leaves alone) as appendAttr writes
// them. Everything else takes h.attr and appendAttr.
func (h *Handler) appendJSON(b []byte, a slog.Attr) ([]byte, bool) {
	switch a.Value.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
	default:
		return appendAttr(b, h.attr(a))
	}
	if a.Key == "" || !plainJSON(a.Key) {
		return appendAttr(b, h.attr(a))
	}
	b = append(b, ',', '"')
	b = append(b, a.Key...)
	b = append(b, '"', ':')
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		s := v.String()
		if !plainJSON(s) {
			return jsonwrite.AppendSlogString(b, h.red.String(s))
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	default: // KindDuration, as appendAttr writes it
		return strconv.AppendInt(b, int64(v.Duration()), 10), true
	}
}

// Handle hands the record of t, level, msg and attrs to h: through
// HandleAttrs when h is a *Handler, else as a slog.Record (tests' handlers).
// For the access logs, which build their lines themselves.
func Handle(ctx context.Context, h slog.Handler, t time.Time, level slog.Level, msg string, attrs ...slog.Attr) {
	if lh, ok := h.(*Handler); ok {
		_ = lh.HandleAttrs(ctx, t, level, msg, attrs...)
		return
	}
	r := slog.NewRecord(t, level, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// fromContext appends the context's request and tenant ids to attrs and
// reports whether the tenant was there.
func (h *Handler) fromContext(ctx context.Context, attrs []slog.Attr) ([]slog.Attr, bool) {
	if id := RequestID(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if id := TenantID(ctx); id != "" {
		return append(attrs, slog.String("tenant_id", id)), true
	}
	return attrs, false
}

// add appends a redacted. A record's own tenant_id (the edge's access log
// names it explicitly, also for unauthenticated requests) gives way to the
// context's, which is the verified principal's: one key per line.
func (h *Handler) add(attrs []slog.Attr, ctxTenant bool, a slog.Attr) []slog.Attr {
	if ctxTenant && a.Key == "tenant_id" {
		return attrs
	}
	return append(attrs, h.attr(a))
}

// WithAttrs implements slog.Handler; the attributes are redacted once here.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(red), red: h.red}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), red: h.red}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	// Keys are usually constants, but a dynamic key could carry a secret too.
	a.Key = h.red.String(a.Key)
	if SensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	a.Value = h.value(resolve(a.Value))
	return a
}

// resolve is v.Resolve() without its deferred recover for the values that
// are not a LogValuer, which Resolve returns as they are: Resolve ran
// twice for each of an access-log line's attributes (here and in the JSON
// encoder), ~1,000 instructions per line (issue 15, ADR 0066).
func resolve(v slog.Value) slog.Value {
	if v.Kind() == slog.KindLogValuer {
		return v.Resolve()
	}
	return v
}

func (h *Handler) value(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(h.red.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		red := make([]slog.Attr, len(group))
		for i, a := range group {
			red[i] = h.attr(a)
		}
		return slog.GroupValue(red...)
	case slog.KindAny:
		return h.anyValue(v.Any())
	default: // numbers, bools, times, durations cannot hold a secret
		return v
	}
}

// anyValue renders arbitrary values the way the JSON handler would (errors as
// their message, everything else as JSON), then redacts that text, so struct
// fields and error chains cannot smuggle a secret past the handler.
func (h *Handler) anyValue(x any) slog.Value {
	switch t := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(h.red.String(t.Error()))
	case fmt.Stringer:
		return slog.StringValue(h.red.String(t.String()))
	}
	b, err := json.Marshal(x)
	if err != nil {
		return slog.StringValue(h.red.String(fmt.Sprintf("%+v", x)))
	}
	red := h.red.String(string(b))
	if !json.Valid([]byte(red)) {
		return slog.StringValue(red)
	}
	return slog.AnyValue(json.RawMessage(red))
}
