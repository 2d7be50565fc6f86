package server

import (
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// Codec is keyvault's gRPC server codec (grpc.ForceServerCodecV2): the
// proto codec, with GetSecretValueResponse — every secret read's answer,
// the hottest message keyvault writes — encoded by appendValue instead of
// protobuf's reflective sizer and marshaler, which walk the message twice
// (issue 15, ADR 0091). The bytes are the proto codec's
// (TestValueWireIsProtos); a message it does not know how to write exactly
// (unknown fields, invalid UTF-8, which proto refuses) goes to the proto
// codec, as does every other message and every request.
func Codec() grpc.ServerOption { return grpc.ForceServerCodecV2(valueCodec{}) }

type valueCodec struct{}

var protoCodec = encoding.GetCodecV2(protocodec.Name)

func (valueCodec) Name() string { return protocodec.Name }

func (valueCodec) Unmarshal(data mem.BufferSlice, v any) error { return protoCodec.Unmarshal(data, v) }

func (valueCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*keyvaultv1.GetSecretValueResponse)
	if !ok || !valueShapeKnown {
		return protoCodec.Marshal(v)
	}
	size, ok := valueSize(r)
	if !ok {
		return protoCodec.Marshal(v)
	}
	// As the proto codec: a small message in its own slice, a larger one
	// in a pooled buffer.
	if mem.IsBelowBufferPoolingThreshold(size) {
		return mem.BufferSlice{mem.SliceBuffer(appendValue(make([]byte, 0, size), r))}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	*buf = appendValue((*buf)[:0], r)
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// valueFields are GetSecretValueResponse's fields in number order, with
// their kinds: if the message changes, appendValue stands down
// (valueShapeKnown) and a test fails.
var valueFields = []struct {
	name string
	kind protoreflect.Kind
	list bool
}{
	{"name", protoreflect.StringKind, false}, {"version_id", protoreflect.StringKind, false},
	{"secret_string", protoreflect.StringKind, false}, {"secret_binary", protoreflect.BytesKind, false},
	{"version_stages", protoreflect.StringKind, true}, {"arn", protoreflect.StringKind, false},
	{"created_at", protoreflect.MessageKind, false}, {"content_type", protoreflect.EnumKind, false},
}

var valueShapeKnown = func() bool {
	fs := (&keyvaultv1.GetSecretValueResponse{}).ProtoReflect().Descriptor().Fields()
	if fs.Len() != len(valueFields) {
		return false
	}
	for i, f := range valueFields {
		d := fs.Get(i)
		if string(d.Name()) != f.name || d.Number() != protoreflect.FieldNumber(i+1) || d.Kind() != f.kind || d.IsList() != f.list || d.HasPresence() != (f.kind == protoreflect.MessageKind) {
			return false
		}
	}
	return true
}()

// valueSize is the encoded size of r, or false when appendValue cannot
// write r as proto does: unknown fields (proto writes them too) or a string
// that is not valid UTF-8 (proto refuses to marshal it).
func valueSize(r *keyvaultv1.GetSecretValueResponse) (int, bool) {
	if len(r.ProtoReflect().GetUnknown()) > 0 {
		return 0, false
	}
	n := 0
	str := func(s string) bool {
		if s != "" {
			n += 1 + protowire.SizeBytes(len(s))
		}
		return utf8.ValidString(s)
	}
	if !str(r.GetName()) || !str(r.GetVersionId()) || !str(r.GetSecretString()) || !str(r.GetArn()) {
		return 0, false
	}
	if b := r.GetSecretBinary(); len(b) > 0 {
		n += 1 + protowire.SizeBytes(len(b))
	}
	for _, s := range r.GetVersionStages() {
		n += 1 + protowire.SizeBytes(len(s)) // an empty stage is written too
		if !utf8.ValidString(s) {
			return 0, false
		}
	}
	if ts := r.GetCreatedAt(); ts != nil {
		if len(ts.ProtoReflect().GetUnknown()) > 0 {
			return 0, false
		}
		n += 1 + protowire.SizeBytes(timestampSize(ts.GetSeconds(), ts.GetNanos()))
	}
	if ct := r.GetContentType(); ct != 0 {
		n += 1 + protowire.SizeVarint(uint64(int64(ct))) //nolint:gosec // G115: proto's encoding of an enum
	}
	return n, true
}

func timestampSize(secs int64, nanos int32) int {
	n := 0
	if secs != 0 {
		n += 1 + protowire.SizeVarint(uint64(secs)) //nolint:gosec // G115: proto's encoding of an int64
	}
	if nanos != 0 {
		n += 1 + protowire.SizeVarint(uint64(int64(nanos))) //nolint:gosec // G115: proto's encoding of an int32
	}
	return n
}

// appendValue appends r as proto's marshaler writes it: fields in number
// order, zero values and an unset time left out, every stage written.
func appendValue(b []byte, r *keyvaultv1.GetSecretValueResponse) []byte {
	str := func(num protowire.Number, s string) {
		if s != "" {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	str(1, r.GetName())
	str(2, r.GetVersionId())
	str(3, r.GetSecretString())
	if v := r.GetSecretBinary(); len(v) > 0 {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	}
	for _, s := range r.GetVersionStages() {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	str(6, r.GetArn())
	if ts := r.GetCreatedAt(); ts != nil {
		secs, nanos := ts.GetSeconds(), ts.GetNanos()
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(timestampSize(secs, nanos))) //nolint:gosec // G115: a size
		if secs != 0 {
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(secs)) //nolint:gosec // G115: proto's encoding of an int64
		}
		if nanos != 0 {
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(nanos))) //nolint:gosec // G115: proto's encoding of an int32
		}
	}
	if ct := r.GetContentType(); ct != 0 {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(ct))) //nolint:gosec // G115: proto's encoding of an enum
	}
	return b
}
