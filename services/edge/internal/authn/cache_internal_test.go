package authn

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/apikey"
)

// TestCacheKeyOfEveryParsedKey: Authenticate takes the cache key of a key
// that parses from cacheKeyOf, without recomputing it from the parsed id;
// that holds because every key that parses has a cache key whose id is
// the parsed one and whose sum is the SHA-256 of everything after the id
// (one SHA-256 block), and computing it allocates nothing.
func TestCacheKeyOfEveryParsedKey(t *testing.T) {
	for range 2000 {
		k, err := apikey.Generate()
		require.NoError(t, err)
		s := k.Plaintext()
		parsed, err := apikey.Parse(s)
		require.NoError(t, err)
		ck, shaped := cacheKeyOf(s)
		require.True(t, shaped, s)
		require.Equal(t, parsed.ID, ck.id)
		require.Equal(t, sha256.Sum256([]byte(s[digestFrom:])), ck.sum)
		require.LessOrEqual(t, len(s)-digestFrom, 55, "one SHA-256 block holds at most 55 bytes of message")
	}
	s := mustKey(t)
	require.Zero(t, testing.AllocsPerRun(100, func() { _, _ = cacheKeyOf(s) }))
}

// FuzzCacheKeyOf: for any string, parsing implies the cache key; a string
// without one never parses.
func FuzzCacheKeyOf(f *testing.F) {
	f.Add(mustKey(f))
	f.Add("rk_" + "x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ck, shaped := cacheKeyOf(s)
		parsed, err := apikey.Parse(s)
		if err != nil {
			return
		}
		require.True(t, shaped)
		require.Equal(t, parsed.ID, ck.id)
		require.Equal(t, sha256.Sum256([]byte(s[digestFrom:])), ck.sum)
	})
}

// TestVerifyRefusesAnotherKeysPrincipal: the backstop behind the cache
// key's id: a principal auth returns for another key id is refused and
// not cached.
func TestVerifyRefusesAnotherKeysPrincipal(t *testing.T) {
	s := mustKey(t)
	a, err := New(Options{Client: otherKeyAuth{}})
	require.NoError(t, err)
	for range 2 {
		_, err = a.Authenticate(t.Context(), s, "")
		require.ErrorIs(t, err, ErrAuthUnavailable)
	}
	require.Zero(t, a.CacheLen())
}

func mustKey(t testing.TB) string {
	k, err := apikey.Generate()
	require.NoError(t, err)
	return k.Plaintext()
}

// otherKeyAuth verifies every key as a principal of another key id.
type otherKeyAuth struct{}

func (otherKeyAuth) VerifyKey(context.Context, *authv1.VerifyKeyRequest, ...grpc.CallOption) (*authv1.VerifyKeyResponse, error) {
	return &authv1.VerifyKeyResponse{Principal: &authv1.Principal{TenantId: "t1", KeyId: "AAAAAAAAAAAA"}, Assertion: "a"}, nil
}

func (otherKeyAuth) WatchRevocations(context.Context, *authv1.WatchRevocationsRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[authv1.WatchRevocationsResponse], error) {
	return nil, context.Canceled
}

// TestCacheKeyCoversEveryByte: a key changed in any one character after
// the prefix (its id, its secret, its checksum) has another cache key, so
// no part of the presented string is left out of the lookup (the id is
// compared as it is, the rest digested).
func TestCacheKeyCoversEveryByte(t *testing.T) {
	s := mustKey(t)
	ck, shaped := cacheKeyOf(s)
	require.True(t, shaped)
	for i := len(apikey.Prefix); i < len(s); i++ {
		b := []byte(s)
		b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
		other, shaped := cacheKeyOf(string(b))
		require.True(t, shaped)
		require.NotEqual(t, ck, other, "character %d", i)
	}
}
