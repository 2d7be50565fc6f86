package gateway

import (
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
)

// decodeWire runs the codec over b as grpc-go hands it a message, in one
// buffer and split in two.
func decodeWire(t *testing.T, b []byte, defaults bool) []secretValueAnswer {
	t.Helper()
	var out []secretValueAnswer
	for _, data := range []mem.BufferSlice{{mem.SliceBuffer(b)}, {mem.SliceBuffer(b[:len(b)/2]), mem.SliceBuffer(b[len(b)/2:])}} {
		a := secretValueAnswer{defaults: defaults}
		err := secretValueCodec{}.Unmarshal(data, &a)
		var want keyvaultv1.GetSecretValueResponse
		werr := proto.Unmarshal(b, &want)
		if werr != nil {
			require.EqualError(t, err, werr.Error(), "the proto codec's error")
			continue
		}
		require.NoError(t, err)
		if a.json == nil {
			require.True(t, proto.Equal(&want, a.msg), "left to the marshaler: the message the proto codec decodes, %v != %v", &want, a.msg)
		}
		out = append(out, a)
	}
	return out
}

// sameFromWire: the answer written from the wire is the fast encoder's
// byte for byte (which sameJSONWith compares with protojson), or it is left
// to the marshaler exactly when the fast encoder cannot write it.
func sameFromWire(t *testing.T, m *runtime.JSONPb, r *keyvaultv1.GetSecretValueResponse, fast []byte, fastErr error) {
	t.Helper()
	for _, a := range decodeWire(t, keyvaulttest.SecretValueWire(r), m.EmitDefaultValues) {
		if a.json == nil {
			// Left to the marshaler only what the fast encoding refuses,
			// or a form it does not take (unknown fields).
			if !keyvaulttest.HasUnknownFields(r) {
				_, ok := appendSecretValue(nil, r, m.EmitDefaultValues)
				require.False(t, ok, "%v written from the wire", r)
			}
			continue
		}
		require.NoError(t, fastErr)
		require.Equal(t, string(fast), string(a.json))
	}
}

// TestSecretValueFromWireTakesOnlyTheMarshalersForm: a message in any
// other form than a proto marshaler's is decoded by proto, as before.
func TestSecretValueFromWireTakesOnlyTheMarshalersForm(t *testing.T) {
	typical := &keyvaultv1.GetSecretValueResponse{Name: "n", VersionId: "v", SecretString: "s", VersionStages: []string{"A", "B"},
		Arn: "arn", CreatedAt: &timestamppb.Timestamp{Seconds: 1796000000, Nanos: 5}, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT}
	canonical := keyvaulttest.SecretValueWire(typical)
	tag := func(b []byte, n protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(b, n, typ) }
	for _, tc := range []struct {
		desc string
		wire []byte
		fast bool
	}{
		{"the marshaler's form", canonical, true},
		{"empty", nil, true},
		{"a name only", protowire.AppendString(tag(nil, 1, protowire.BytesType), "first"), true},
		{"a field out of order", append(protowire.AppendString(tag(nil, 6, protowire.BytesType), "arn"), protowire.AppendString(tag(nil, 1, protowire.BytesType), "n")...), false},
		{"a scalar repeated", append(protowire.AppendString(tag(nil, 1, protowire.BytesType), "a"), protowire.AppendString(tag(nil, 1, protowire.BytesType), "b")...), false},
		{"stages apart", append(append(protowire.AppendString(tag(nil, 5, protowire.BytesType), "a"), protowire.AppendString(tag(nil, 6, protowire.BytesType), "x")...),
			protowire.AppendString(tag(nil, 5, protowire.BytesType), "b")...), false},
		{"an unknown field", append(canonical[:len(canonical):len(canonical)], protowire.AppendVarint(tag(nil, 9, protowire.VarintType), 1)...), false},
		{"a wrong wire type", protowire.AppendVarint(tag(nil, 1, protowire.VarintType), 1), false},
		{"the enum as bytes", protowire.AppendString(tag(nil, 8, protowire.BytesType), "x"), false},
		{"nanos before seconds", protowire.AppendBytes(tag(nil, 7, protowire.BytesType),
			protowire.AppendVarint(tag(protowire.AppendVarint(tag(nil, 2, protowire.VarintType), 5), 1, protowire.VarintType), 7)), false},
		{"a Timestamp with an unknown field", protowire.AppendBytes(tag(nil, 7, protowire.BytesType), protowire.AppendVarint(tag(nil, 3, protowire.VarintType), 1)), false},
		{"truncated", canonical[:len(canonical)-1], false},
		{"a truncated string", protowire.AppendVarint(tag(nil, 1, protowire.BytesType), 10), false},
		{"field number 0", []byte{0x02, 0x00}, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, ok := secretValueFromWire(tc.wire, true)
			require.Equal(t, tc.fast, ok)
			for _, a := range decodeWire(t, tc.wire, true) {
				if a.json == nil {
					continue
				}
				var msg keyvaultv1.GetSecretValueResponse
				require.NoError(t, proto.Unmarshal(tc.wire, &msg))
				want, err := fastJSON{protojsonMarshaler()}.Marshal(&msg)
				require.NoError(t, err)
				require.Equal(t, string(want), string(a.json))
			}
		})
	}
}

// Other messages pass through the proto codec.
func TestSecretValueCodecIsProtoForOtherMessages(t *testing.T) {
	req := &keyvaultv1.GetSecretValueRequest{Name: "dev/app/x", VersionStage: "AWSCURRENT"}
	data, err := secretValueCodec{}.Marshal(req)
	require.NoError(t, err)
	want, err := proto.Marshal(req)
	require.NoError(t, err)
	require.Equal(t, want, data.Materialize())
	var got keyvaultv1.GetSecretValueRequest
	require.NoError(t, secretValueCodec{}.Unmarshal(data, &got))
	require.True(t, proto.Equal(req, &got))
	require.Equal(t, "proto", secretValueCodec{}.Name())
}

func BenchmarkSecretValueFromWire(b *testing.B) {
	data := mem.BufferSlice{mem.SliceBuffer(keyvaulttest.SecretValueWire(keyvaulttest.BenchSecretValue()))}
	m := fastJSON{protojsonMarshaler()}
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a := secretValueAnswer{defaults: true}
			if err := (secretValueCodec{}).Unmarshal(data, &a); err != nil || a.json == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("message", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var msg keyvaultv1.GetSecretValueResponse
			if err := protoCodec.Unmarshal(data, &msg); err != nil {
				b.Fatal(err)
			}
			if _, err := m.Marshal(&msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
