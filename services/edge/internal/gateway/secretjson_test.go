package gateway

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
)

func protojsonMarshaler() *runtime.JSONPb {
	return &runtime.JSONPb{MarshalOptions: MarshalOptions}
}

// marshalers are the option sets the hand-written encoding must match:
// the mux's (every field without presence written) and protojson's
// default (zero values left out).
var marshalers = map[string]func() *runtime.JSONPb{
	"mux": protojsonMarshaler,
	"omit zeroes": func() *runtime.JSONPb {
		return &runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{UseProtoNames: true}}
	},
}

// sameJSON requires the hand-written encoding to mean exactly what
// protojson writes (protojson varies its whitespace on purpose, so the
// bytes are compared after parsing), or both to fail, with each option
// set of marshalers.
func sameJSON(t *testing.T, r *keyvaultv1.GetSecretValueResponse) {
	t.Helper()
	for _, m := range marshalers {
		sameJSONWith(t, m, r)
	}
}

func sameJSONWith(t *testing.T, marshaler func() *runtime.JSONPb, r *keyvaultv1.GetSecretValueResponse) {
	t.Helper()
	want, werr := marshaler().Marshal(r)
	got, gerr := fastJSON{marshaler()}.Marshal(r)
	sameFromWire(t, marshaler(), r, got, gerr)
	if werr != nil {
		require.Error(t, gerr, "protojson refuses %v", r)
		return
	}
	require.NoError(t, gerr)
	require.True(t, json.Valid(got), "%s", got)
	var w, g any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(got, &g))
	require.Equal(t, w, g, "protojson %s\nfast      %s", want, got)
	// Same keys in the same order, too.
	require.Equal(t, keyOrder(t, want), keyOrder(t, got))
}

// keyOrder lists the top-level keys of a JSON object in order.
func keyOrder(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		key, ok := k.(string)
		require.True(t, ok, "a key: %v", k)
		keys = append(keys, key)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
	}
	return keys
}

// The hand-written answer means what protojson writes with each option
// set, on keyvaulttest's table and random answers (shared with keyvault's
// codec, ADR 0101), and the answer written from the wire is the same.
func TestSecretValueJSONMatchesProtojson(t *testing.T) {
	require.True(t, secretValueShapeKnown, "GetSecretValueResponse changed: update appendSecretValue and secretValueFields")
	keyvaulttest.ForEachSecretValue(t, sameJSON)
}

// The mux writes every field of a secret value but an unset time, the
// fast encoding included.
func TestSecretValueJSONWritesZeroValues(t *testing.T) {
	got, err := fastJSON{protojsonMarshaler()}.Marshal(&keyvaultv1.GetSecretValueResponse{Name: "n", SecretString: "s"})
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"n","version_id":"","secret_string":"s","secret_binary":"","version_stages":[],"arn":"",
		"content_type":"CONTENT_TYPE_UNSPECIFIED"}`, string(got))
	// EmitUnpopulated's null for the time is protojson's to write.
	m := &runtime.JSONPb{MarshalOptions: protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}}
	got, err = fastJSON{m}.Marshal(&keyvaultv1.GetSecretValueResponse{})
	require.NoError(t, err)
	require.Contains(t, string(got), `"created_at":null`)
}

func TestFastJSONLeavesOtherMessagesToProtojson(t *testing.T) {
	m := &keyvaultv1.GetSecretValueRequest{Name: "/dev/a/b", VersionStage: "AWSCURRENT"}
	want, err := protojsonMarshaler().Marshal(m)
	require.NoError(t, err)
	got, err := fastJSON{protojsonMarshaler()}.Marshal(m)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func BenchmarkSecretValueJSON(b *testing.B) {
	r := keyvaulttest.BenchSecretValue()
	b.Run("protojson", func(b *testing.B) {
		m := protojsonMarshaler()
		for b.Loop() {
			_, _ = m.Marshal(r)
		}
	})
	b.Run("fast", func(b *testing.B) {
		m := fastJSON{protojsonMarshaler()}
		for b.Loop() {
			_, _ = m.Marshal(r)
		}
	})
}

// Random times over protojson's whole range, with whole seconds and 3, 6
// and 9 fractional digits: the hand-written date is protojson's.
func TestSecretValueJSONRandomTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 4000 {
		nanos := rng.Int32N(1e9)
		switch i % 4 {
		case 0:
			nanos = 0
		case 1:
			nanos -= nanos % 1e6
		case 2:
			nanos -= nanos % 1e3
		}
		secs := minTimestampSeconds + rng.Int64N(maxTimestampSeconds-minTimestampSeconds+1)
		sameJSON(t, &keyvaultv1.GetSecretValueResponse{CreatedAt: &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}})
	}
}
