package server

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

// sameWire requires the codec to write what the proto codec writes for r,
// or fail as it does.
func sameWire(t *testing.T, r *keyvaultv1.GetSecretValueResponse) {
	t.Helper()
	want, werr := protoCodec.Marshal(r)
	got, gerr := valueCodec{}.Marshal(r)
	if werr != nil {
		require.EqualError(t, gerr, werr.Error())
		return
	}
	require.NoError(t, gerr)
	require.Equal(t, want.Materialize(), got.Materialize(), "%v", r)
	require.Equal(t, want.Len(), got.Len())
	got.Free()
	want.Free()
}

func TestValueWireIsProtos(t *testing.T) {
	require.True(t, valueShapeKnown, "GetSecretValueResponse changed: update appendValue and valueFields")
	ts := func(s int64, n int32) *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: s, Nanos: n} }
	unknown := &keyvaultv1.GetSecretValueResponse{Name: "n"}
	unknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
	unknownTime := ts(5, 5)
	unknownTime.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))
	for _, tc := range []struct {
		desc string
		r    *keyvaultv1.GetSecretValueResponse
	}{
		{"empty", &keyvaultv1.GetSecretValueResponse{}},
		{"typical", &keyvaultv1.GetSecretValueResponse{Name: "/dev/app/db/main", VersionId: "58725695-d9f4-47d7-88f3-ceb61b308750",
			SecretString: "hunter2", VersionStages: []string{"AWSCURRENT", "AWSPREVIOUS"}, Arn: "arn:rampart:keyvault::t_1:secret:/dev/app/db/main-3140e5",
			CreatedAt: ts(1796000000, 202559577), ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT}},
		{"binary", &keyvaultv1.GetSecretValueResponse{Name: "b", SecretBinary: []byte{0, 1, 2, 0xff}, ContentType: keyvaultv1.ContentType_CONTENT_TYPE_BINARY}},
		{"an empty stage", &keyvaultv1.GetSecretValueResponse{VersionStages: []string{"", "x"}}},
		{"a zero time", &keyvaultv1.GetSecretValueResponse{CreatedAt: ts(0, 0)}},
		{"negative time", &keyvaultv1.GetSecretValueResponse{CreatedAt: ts(-62135596800, -1)}},
		{"unknown enum value", &keyvaultv1.GetSecretValueResponse{ContentType: keyvaultv1.ContentType(-3)}},
		{"pooled: over the codec's pooling threshold", &keyvaultv1.GetSecretValueResponse{Name: "big", SecretString: strings.Repeat("x", 70_000)}},
		{"pooled binary", &keyvaultv1.GetSecretValueResponse{SecretBinary: make([]byte, 5000)}},
		{"invalid UTF-8: proto refuses", &keyvaultv1.GetSecretValueResponse{SecretString: "a\xffb"}},
		{"invalid UTF-8 in a stage", &keyvaultv1.GetSecretValueResponse{VersionStages: []string{"\xc3"}}},
		{"unknown fields: proto writes them", unknown},
		{"unknown fields in the time", &keyvaultv1.GetSecretValueResponse{CreatedAt: unknownTime}},
	} {
		t.Run(tc.desc, func(t *testing.T) { sameWire(t, tc.r) })
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []rune("aZ09 \"\\\x00é日😀")
	str := func(most int) string {
		var b strings.Builder
		for range rng.IntN(most) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 500 {
		r := &keyvaultv1.GetSecretValueResponse{Name: str(40), VersionId: str(40), SecretString: str(300), Arn: str(90),
			ContentType: keyvaultv1.ContentType(rng.Int32N(4))}
		for range rng.IntN(4) {
			r.VersionStages = append(r.VersionStages, str(12))
		}
		if rng.IntN(2) == 0 {
			r.CreatedAt = ts(rng.Int64N(1<<40)-1<<39, rng.Int32N(2e9)-1e9)
		}
		if rng.IntN(4) == 0 {
			r.SecretBinary = []byte(str(60))
		}
		sameWire(t, r)
	}
}

// The codec is proto's for everything else, both ways.
func TestValueCodecIsProtoForOtherMessages(t *testing.T) {
	req := &keyvaultv1.GetSecretValueRequest{Name: "dev/app/x", VersionStage: "AWSCURRENT"}
	data, err := valueCodec{}.Marshal(req)
	require.NoError(t, err)
	want, err := proto.Marshal(req)
	require.NoError(t, err)
	require.Equal(t, want, data.Materialize())
	var got keyvaultv1.GetSecretValueRequest
	require.NoError(t, valueCodec{}.Unmarshal(data, &got))
	require.True(t, proto.Equal(req, &got))
	require.Equal(t, "proto", valueCodec{}.Name())
}

func BenchmarkValueMarshal(b *testing.B) {
	r := &keyvaultv1.GetSecretValueResponse{Name: "/dev/bench/token/one", VersionId: "58725695-d9f4-47d7-88f3-ceb61b308750",
		SecretString: "bench-secret-value-0123456789", VersionStages: []string{"AWSCURRENT"},
		Arn: "arn:rampart:keyvault::t_a4094348e7094ec551ba:secret:/dev/bench/token/one-a181b1", ContentType: keyvaultv1.ContentType_CONTENT_TYPE_TEXT,
		CreatedAt: &timestamppb.Timestamp{Seconds: 1796000000, Nanos: 202559577}}
	for _, c := range []struct {
		name  string
		codec interface {
			Marshal(any) (mem.BufferSlice, error)
		}
	}{{"hand", valueCodec{}}, {"proto", protoCodec}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := c.codec.Marshal(r)
				if err != nil {
					b.Fatal(err)
				}
				d.Free()
			}
		})
	}
}
