package gateway

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// secretValueAnswer is the reply of a plain secret read made with
// secretValueCall: the answer's JSON, written straight from the wire
// message by secretValueCodec, or — for a message it does not take (see
// secretValueFromWire) — the message decoded as the proto codec decodes
// it, for the marshaler.
type secretValueAnswer struct {
	defaults bool // the marshaler's EmitDefaultValues (set before the call)
	json     []byte
	msg      *keyvaultv1.GetSecretValueResponse
}

// secretValueCodec is the proto codec, except that it decodes a
// GetSecretValueResponse for a *secretValueAnswer into the JSON the
// gateway's marshaler (fastJSON) writes for it, without the message:
// protobuf's reflective decoding, the message and its strings, stages
// slice and Timestamp were ~10 of the edge's allocations per secret read
// and, with the JSON encoding of the decoded message, ~5 % of its
// instructions (issue 15, ADR 0091). Requests are marshaled by the proto
// codec unchanged.
type secretValueCodec struct{}

var protoCodec = encoding.GetCodecV2(protocodec.Name)

// Name is the proto codec's: keyvault decodes the request with its proto
// codec (the content type is application/grpc+proto).
func (secretValueCodec) Name() string { return protocodec.Name }

func (secretValueCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (secretValueCodec) Unmarshal(data mem.BufferSlice, v any) error {
	a, ok := v.(*secretValueAnswer)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	var b []byte
	if len(data) == 1 {
		b = data[0].ReadOnlyData() // valid until Unmarshal returns: used only here
	} else {
		b = data.Materialize()
	}
	if js, ok := secretValueFromWire(b, a.defaults); ok {
		a.json = js
		return nil
	}
	a.msg = &keyvaultv1.GetSecretValueResponse{}
	return proto.Unmarshal(b, a.msg)
}

// secretValueCall are the call options of a plain read: the generated
// client's StaticMethod and the codec (built once: a call option is an
// interface value).
var secretValueCall = []grpc.CallOption{grpc.StaticMethod(), grpc.ForceCodecV2(secretValueCodec{})}

// maxWireStages bounds the stages kept on the stack; more go to the heap.
const maxWireStages = 4

// secretValueFromWire returns the JSON appendSecretValue writes for the
// GetSecretValueResponse encoded in b, when b is in the form a proto
// marshaler writes: fields in number order, each once (the stages
// repeated, next to each other), every one of its known wire type, the
// Timestamp's two fields likewise, nothing unknown. Such a b decodes to
// exactly one message — every field's value is its only occurrence — so
// the JSON is that message's. Anything else (unknown fields, a repeated
// scalar, which proto decodes by its own merge rules, a malformed
// message) and anything appendSecretValue refuses (invalid UTF-8, which
// proto's decoder rejects too; a Timestamp out of range) reports false,
// and the caller decodes the message as before.
func secretValueFromWire(b []byte, defaults bool) ([]byte, bool) {
	if !secretValueShapeKnown {
		return nil, false
	}
	// One copy of the message as a string: the fields are its substrings
	// (one allocation instead of one per field).
	s := string(b)
	var (
		r          keyvaultv1.GetSecretValueResponse
		ts         timestamppb.Timestamp
		stageArr   [maxWireStages]string
		last       protowire.Number
		binaryLen  int
		off        int
		stages     = stageArr[:0]
		hasCreated bool
	)
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 || num < last || (num == last && num != 5) {
			return nil, false
		}
		last = num
		off += n
		if num == 8 { // content_type
			if typ != protowire.VarintType {
				return nil, false
			}
			v, n := protowire.ConsumeVarint(b[off:])
			if n < 0 {
				return nil, false
			}
			off += n
			r.ContentType = keyvaultv1.ContentType(int32(v)) //nolint:gosec // G115: proto's own int32 truncation of an enum varint
			continue
		}
		if typ != protowire.BytesType || num < 1 || num > 7 {
			return nil, false
		}
		v, n := protowire.ConsumeBytes(b[off:])
		if n < 0 {
			return nil, false
		}
		start := off + n - len(v)
		off += n
		str := s[start:off]
		switch num {
		case 1:
			r.Name = str
		case 2:
			r.VersionId = str
		case 3:
			r.SecretString = str
		case 4:
			r.SecretBinary, binaryLen = v, len(v)
		case 5:
			stages = append(stages, str)
		case 6:
			r.Arn = str
		case 7:
			if !timestampFromWire(v, &ts) {
				return nil, false
			}
			hasCreated = true
		}
	}
	if len(stages) > 0 {
		r.VersionStages = stages
	}
	if hasCreated {
		r.CreatedAt = &ts
	}
	out := make([]byte, 0, 192+len(b)+binaryLen/3)
	return appendSecretValue(out, &r, defaults)
}

// timestampFromWire decodes a google.protobuf.Timestamp written as a proto
// marshaler writes it (seconds, then nanos, each at most once).
func timestampFromWire(b []byte, ts *timestamppb.Timestamp) bool {
	var last protowire.Number
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num <= last || num > 2 || typ != protowire.VarintType {
			return false
		}
		last = num
		b = b[n:]
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if num == 1 {
			ts.Seconds = int64(v) //nolint:gosec // G115: proto's int64 from its varint
		} else {
			ts.Nanos = int32(v) //nolint:gosec // G115: proto's own int32 truncation
		}
	}
	return true
}
