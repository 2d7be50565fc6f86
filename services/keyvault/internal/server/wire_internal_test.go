package server

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
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

// The hand-written answer is proto's, byte for byte, on keyvaulttest's
// table and random answers (shared with the edge's decoder, ADR 0101).
func TestValueWireIsProtos(t *testing.T) {
	require.True(t, valueShapeKnown, "GetSecretValueResponse changed: update appendValue and valueFields")
	keyvaulttest.ForEachSecretValue(t, sameWire)
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
	r := keyvaulttest.BenchSecretValue()
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
