package keyvaulttest_test

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
)

// SecretValueWire writes what proto's deterministic marshaler writes, for
// every message proto marshals (not invalid UTF-8), and decodes back to
// the message whatever it holds.
func TestSecretValueWireIsProtos(t *testing.T) {
	keyvaulttest.ForEachSecretValue(t, func(t *testing.T, r *keyvaultv1.GetSecretValueResponse) {
		t.Helper()
		got := keyvaulttest.SecretValueWire(r)
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
		if err != nil {
			require.False(t, validUTF8(r), "proto refuses only invalid UTF-8: %v", err)
			return
		}
		require.Equal(t, string(want), string(got))
		var back keyvaultv1.GetSecretValueResponse
		require.NoError(t, proto.Unmarshal(got, &back))
		require.True(t, proto.Equal(r, &back))
	})
	require.NotEmpty(t, keyvaulttest.SecretValueWire(keyvaulttest.BenchSecretValue()))
}

func validUTF8(r *keyvaultv1.GetSecretValueResponse) bool {
	for _, s := range append([]string{r.GetName(), r.GetVersionId(), r.GetSecretString(), r.GetArn()}, r.GetVersionStages()...) {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// The random messages reach every part of the table's shape.
func TestRandomSecretValuesCoverTheShape(t *testing.T) {
	var binary, stages, noTime, invalidTime int
	for _, r := range keyvaulttest.RandomSecretValues(3, 500) {
		switch {
		case r.GetCreatedAt() == nil:
			noTime++
		case !r.GetCreatedAt().IsValid():
			invalidTime++
		}
		if len(r.GetSecretBinary()) > 0 {
			binary++
		}
		if len(r.GetVersionStages()) > 1 {
			stages++
		}
	}
	for name, n := range map[string]int{"binary": binary, "several stages": stages, "no time": noTime, "an invalid time": invalidTime} {
		require.Positive(t, n, name)
	}
	require.Equal(t, keyvaulttest.RandomSecretValues(3, 5), keyvaulttest.RandomSecretValues(3, 5), "the same seed, the same messages")
}
