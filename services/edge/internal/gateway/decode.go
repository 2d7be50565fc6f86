package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// NewDecoder implements runtime.Marshaler: grpc-gateway's decoder, except
// that when protojson refuses a body the decoder walks the body again
// against the message's descriptor to name the offending field and what
// it must be (an *httperr.BodyFieldError): protojson says "invalid value
// for int32 field topK" (the JSON name, no path) or, for a scalar where a
// list belongs, only "syntax error … unexpected token". The walk runs only
// on that error path.
func (m fastJSON) NewDecoder(r io.Reader) runtime.Decoder {
	// What JSONPb.NewDecoder returns, kept typed to reach its parts.
	return fieldDecoder{runtime.DecoderWrapper{Decoder: json.NewDecoder(r), UnmarshalOptions: m.UnmarshalOptions}}
}

type fieldDecoder struct{ runtime.DecoderWrapper }

// Decode is runtime.DecoderWrapper's decode of a message (read one JSON
// value, then protojson), plus the walk on failure.
func (d fieldDecoder) Decode(v any) error {
	msg, ok := asMessage(v)
	if !ok {
		return d.DecoderWrapper.Decode(v)
	}
	var raw json.RawMessage
	if err := d.Decoder.Decode(&raw); err != nil {
		// The handlers keep only the text; httperr.FromGRPC knows a body
		// that is no JSON by "syntax error" (protojson's words), which
		// encoding/json's "invalid character 'x' …" lacks.
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return fmt.Errorf("syntax error at byte %d: %w", se.Offset, err)
		}
		return err
	}
	err := d.Unmarshal(raw, msg)
	if err == nil {
		return nil
	}
	// An unknown field only where protojson says so too: protojson's
	// message names the key alone ("bogus"), the walk its whole path
	// ("assistant_settings.bogus").
	if fe := locate(raw, msg.ProtoReflect().Descriptor()); fe != nil && (!fe.Unknown || strings.Contains(err.Error(), "unknown field")) {
		return fe
	}
	return err
}

var messageType = reflect.TypeFor[proto.Message]()

// asMessage is v as a message: v itself, or what v points to (the
// generated handlers pass &req.Field for a body: "field" route; a nil
// *Message is allocated, as grpc-gateway's decoder does).
func asMessage(v any) (proto.Message, bool) {
	if m, ok := v.(proto.Message); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !rv.Type().Elem().Implements(messageType) || rv.Elem().Kind() != reflect.Pointer {
		return nil, false
	}
	if rv.Elem().IsNil() {
		rv.Elem().Set(reflect.New(rv.Type().Elem().Elem()))
	}
	m, ok := rv.Elem().Interface().(proto.Message)
	return m, ok
}

// locate walks body (one JSON value, valid JSON) against md and returns
// the first value, in document order, that protojson cannot take for its
// field, or the first unknown field (Unknown set); nil when it finds none
// (a body that is no object, or a rule it does not check: protojson's
// error stands).
func locate(body []byte, md protoreflect.MessageDescriptor) *httperr.BodyFieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec}
	if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
		_ = w.message(md, "") // errStop only ends the walk; w.found says why
	}
	return w.found
}

// maxUnknownKey bounds the unknown key an error repeats; past it
// protojson's error stands (the edge's mapping of it bounds it too).
const maxUnknownKey = 128

// errStop ends a walk: a bad value was found, or the walk cannot go on.
var errStop = errors.New("stop")

type walker struct {
	dec   *json.Decoder
	found *httperr.BodyFieldError
}

func (w *walker) bad(path, msg string) error {
	w.found = &httperr.BodyFieldError{Field: path, Msg: msg}
	return errStop
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// message walks an object's members after its '{'.
func (w *walker) message(md protoreflect.MessageDescriptor, path string) error {
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return errStop
		}
		key, _ := tok.(string)
		fd := md.Fields().ByJSONName(key)
		if fd == nil {
			fd = md.Fields().ByTextName(key)
		}
		if fd == nil {
			if len(key) <= maxUnknownKey {
				w.found = &httperr.BodyFieldError{Field: join(path, key), Unknown: true}
			}
			return errStop
		}
		if err := w.field(fd, join(path, string(fd.Name()))); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

// field walks fd's value: a map, a list or one value.
func (w *walker) field(fd protoreflect.FieldDescriptor, path string) error {
	switch {
	case fd.IsMap():
		return w.container(path, '{', "must be an object", func(int) error {
			tok, err := w.dec.Token()
			if err != nil {
				return errStop
			}
			key, _ := tok.(string)
			return w.value(fd.MapValue(), path+"["+strconv.Quote(key)+"]")
		})
	case fd.IsList():
		return w.container(path, '[', "must be an array", func(i int) error {
			return w.value(fd, fmt.Sprintf("%s[%d]", path, i))
		})
	}
	return w.value(fd, path)
}

// container walks an object or array (null is none), each member by each.
func (w *walker) container(path string, open json.Delim, msg string, each func(int) error) error {
	tok, err := w.dec.Token()
	switch {
	case err != nil:
		return errStop
	case tok == nil:
		return nil
	case tok != open:
		return w.bad(path, msg+", not "+kindOf(tok))
	}
	for i := 0; w.dec.More(); i++ {
		if err := each(i); err != nil {
			return err
		}
	}
	_, err = w.dec.Token()
	return err
}

// value walks one value of fd's kind.
func (w *walker) value(fd protoreflect.FieldDescriptor, path string) error {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return w.messageValue(fd.Message(), path)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return errStop
	}
	if tok == nil {
		return nil // protojson takes null as the field's absence
	}
	if d, ok := tok.(json.Delim); ok {
		if err := w.skip(d); err != nil {
			return err
		}
	}
	if msg := scalarProblem(fd, tok); msg != "" {
		return w.bad(path, msg)
	}
	return nil
}

// messageValue walks a message-typed value; the well-known types have
// their own JSON forms.
func (w *walker) messageValue(md protoreflect.MessageDescriptor, path string) error {
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return w.str(path, "must be an RFC 3339 timestamp such as \"2026-12-31T23:59:59Z\"", func(s string) bool {
			_, err := time.Parse(time.RFC3339Nano, s)
			return err == nil
		})
	case "google.protobuf.Duration":
		return w.str(path, "must be a duration in seconds such as \"3600s\"", func(s string) bool {
			f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
			return err == nil && strings.HasSuffix(s, "s") && !math.IsInf(f, 0) && !math.IsNaN(f)
		})
	case "google.protobuf.FieldMask":
		return w.str(path, "must be a string of comma-separated field paths", func(string) bool { return true })
	case "google.protobuf.Value", "google.protobuf.Struct", "google.protobuf.ListValue", "google.protobuf.Any", "google.protobuf.Empty":
		return w.any()
	}
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") && strings.HasSuffix(string(md.Name()), "Value") {
		if v := md.Fields().ByName("value"); v != nil { // a wrapper: its bare value
			return w.value(v, path)
		}
	}
	tok, err := w.dec.Token()
	switch {
	case err != nil:
		return errStop
	case tok == nil:
		return nil
	case tok != json.Delim('{'):
		if d, ok := tok.(json.Delim); ok {
			_ = w.skip(d)
		}
		return w.bad(path, "must be an object, not "+kindOf(tok))
	}
	return w.message(md, path)
}

// str walks a value that must be a string for which ok holds (or null).
func (w *walker) str(path, msg string, ok func(string) bool) error {
	tok, err := w.dec.Token()
	if err != nil {
		return errStop
	}
	if d, isDelim := tok.(json.Delim); isDelim {
		_ = w.skip(d)
	}
	if s, isStr := tok.(string); tok == nil || (isStr && ok(s)) {
		return nil
	}
	return w.bad(path, msg)
}

// any consumes one value of any form.
func (w *walker) any() error {
	tok, err := w.dec.Token()
	if err != nil {
		return errStop
	}
	if d, ok := tok.(json.Delim); ok {
		return w.skip(d)
	}
	return nil
}

// skip consumes the rest of the object or array opened by d.
func (w *walker) skip(d json.Delim) error {
	if d != '{' && d != '[' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return errStop
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// kindOf names a JSON token's type for messages (never its value: it may
// be a secret sent in the wrong field).
func kindOf(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// scalarProblem says what is wrong with tok as a value of fd's scalar
// kind, "" when protojson takes it.
func scalarProblem(fd protoreflect.FieldDescriptor, tok json.Token) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if _, ok := tok.(string); !ok {
			return "must be a string, not " + kindOf(tok)
		}
	case protoreflect.BytesKind:
		s, ok := tok.(string)
		if !ok || !isBase64(s) {
			return "must be a base64-encoded string"
		}
	case protoreflect.BoolKind:
		if _, ok := tok.(bool); !ok {
			return "must be true or false, not " + kindOf(tok)
		}
	case protoreflect.EnumKind:
		return enumProblem(fd.Enum(), tok)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if !isFloat(tok) {
			return "must be a number, not " + kindOf(tok)
		}
	default: // the integer kinds
		return intProblem(fd.Kind(), tok)
	}
	return ""
}

func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

func isFloat(tok json.Token) bool {
	switch t := tok.(type) {
	case json.Number:
		return true
	case string:
		if t == "NaN" || t == "Infinity" || t == "-Infinity" {
			return true
		}
		_, err := strconv.ParseFloat(t, 64)
		return err == nil
	}
	return false
}

func enumProblem(ed protoreflect.EnumDescriptor, tok json.Token) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := range vals.Len() {
		names = append(names, string(vals.Get(i).Name()))
	}
	want := "must be one of " + strings.Join(names, ", ")
	switch t := tok.(type) {
	case string:
		if vals.ByName(protoreflect.Name(t)) != nil {
			return ""
		}
		if len(t) > 64 {
			t = t[:64] + "…"
		}
		return want + ", not " + strconv.Quote(t)
	case json.Number:
		if n, err := strconv.ParseInt(string(t), 10, 32); err == nil && n == int64(int32(n)) {
			return ""
		}
	}
	return want
}

// intProblem checks an integer of kind k: a JSON number or a string
// holding one (protojson takes both), integral and in range.
func intProblem(k protoreflect.Kind, tok json.Token) string {
	var s string
	switch t := tok.(type) {
	case json.Number:
		s = string(t)
	case string:
		s = t
	default:
		return "must be an integer, not " + kindOf(tok)
	}
	lo, hi, name := int64(math.MinInt32), uint64(math.MaxInt32), "a 32-bit integer"
	switch k {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		lo, hi, name = math.MinInt64, math.MaxInt64, "a 64-bit integer"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		lo, hi, name = 0, math.MaxUint32, "a non-negative 32-bit integer"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		lo, hi, name = 0, math.MaxUint64, "a non-negative 64-bit integer"
	}
	if inRange(s, lo, hi) {
		return ""
	}
	return "must be " + name
}

func inRange(s string, lo int64, hi uint64) bool {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n >= lo && (n < 0 || uint64(n) <= hi)
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n <= hi
	}
	// protojson also takes an integral number written with a fraction or
	// an exponent ("1e3").
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == math.Trunc(f) && f >= float64(lo) && f <= float64(hi)
}
