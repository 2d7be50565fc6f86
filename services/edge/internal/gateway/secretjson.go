package gateway

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/reflect/protoreflect"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/jsonwrite"
)

// fastJSON is the gateway's JSON marshaler with one hand-written encoding:
// GetSecretValueResponse, the answer of the hottest REST route (GET
// /v1/secrets/{name}:value). protojson walks the message by reflection and
// was ~4 % of the edge's CPU per secret read; this writes the same JSON
// (same names, omissions, enum names, Timestamp and bytes formats, escapes)
// directly, with the mux's MarshalOptions. Anything else, and any value it cannot encode exactly as
// protojson would (invalid UTF-8, a Timestamp out of range), goes to
// protojson unchanged.
type fastJSON struct{ *runtime.JSONPb }

// Marshal implements runtime.Marshaler.
func (m fastJSON) Marshal(v any) ([]byte, error) {
	if r, ok := v.(*keyvaultv1.GetSecretValueResponse); ok && secretValueShapeKnown && !m.EmitUnpopulated {
		if b, ok := appendSecretValue(make([]byte, 0, 256+len(r.GetSecretString())+len(r.GetSecretBinary())*4/3), r, m.EmitDefaultValues); ok {
			return b, nil
		}
	}
	return m.JSONPb.Marshal(v)
}

// secretValueFields are the fields appendSecretValue writes, in field
// number order (protojson's order). If the message gains a field, the
// encoder stands down (secretValueShapeKnown) and a test fails.
var secretValueFields = []string{"name", "version_id", "secret_string", "secret_binary", "version_stages", "arn", "created_at", "content_type"}

var secretValueShapeKnown = func() bool {
	fs := (&keyvaultv1.GetSecretValueResponse{}).ProtoReflect().Descriptor().Fields()
	if fs.Len() != len(secretValueFields) {
		return false
	}
	for i, name := range secretValueFields {
		if string(fs.Get(i).Name()) != name || fs.Get(i).Number() != protoreflect.FieldNumber(i+1) {
			return false
		}
	}
	return true
}()

// appendSecretValue appends r as protojson would with UseProtoNames, and
// with EmitDefaultValues when defaults is set (EmitUnpopulated, which
// writes "created_at":null for an unset time, is left to protojson); ok
// is false when it cannot.
func appendSecretValue(b []byte, r *keyvaultv1.GetSecretValueResponse, defaults bool) ([]byte, bool) {
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	ok := true
	str := func(name, v string) {
		if (v == "" && !defaults) || !ok {
			return
		}
		key(name)
		b, ok = jsonwrite.AppendProtoString(b, v)
	}
	str("name", r.GetName())
	str("version_id", r.GetVersionId())
	str("secret_string", r.GetSecretString())
	if bin := r.GetSecretBinary(); len(bin) > 0 || defaults {
		key("secret_binary")
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, bin)
		b = append(b, '"')
	}
	if stages := r.GetVersionStages(); (len(stages) > 0 || defaults) && ok {
		key("version_stages")
		b = append(b, '[')
		for i, s := range stages {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = jsonwrite.AppendProtoString(b, s); !ok {
				break
			}
		}
		b = append(b, ']')
	}
	str("arn", r.GetArn())
	if ts := r.GetCreatedAt(); ts != nil && ok {
		key("created_at")
		b, ok = appendTimestamp(b, ts.GetSeconds(), ts.GetNanos())
	}
	if ct := r.GetContentType(); ct != 0 || defaults {
		key("content_type")
		if d := ct.Descriptor().Values().ByNumber(protoreflect.EnumNumber(ct)); d != nil {
			b = append(b, '"')
			b = append(b, d.Name()...)
			b = append(b, '"')
		} else {
			b = strconv.AppendInt(b, int64(ct), 10) // protojson writes unknown values as numbers
		}
	}
	return append(b, '}'), ok
}

// Timestamp bounds protojson accepts (0001-01-01 to 9999-12-31, UTC).
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendTimestamp writes a google.protobuf.Timestamp as protojson does:
// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits. The digits are
// written here rather than by time.Time.AppendFormat, which parses its
// layout on every call (~2,000 instructions per secret read, ADR 0075).
func appendTimestamp(b []byte, secs int64, nanos int32) ([]byte, bool) {
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return b, false
	}
	t := time.Unix(secs, 0).UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, second, 2)
	if nanos != 0 {
		b = append(b, '.')
		switch {
		case nanos%1e6 == 0:
			b = appendDigits(b, int(nanos/1e6), 3)
		case nanos%1e3 == 0:
			b = appendDigits(b, int(nanos/1e3), 6)
		default:
			b = appendDigits(b, int(nanos), 9)
		}
	}
	return append(b, 'Z', '"'), true
}

// appendDigits appends the n lowest decimal digits of v (v >= 0),
// zero-padded.
func appendDigits(b []byte, v, n int) []byte {
	var d [9]byte
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, d[:n]...)
}
