package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

func TestVerifyCache(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("k1", priv, time.Minute)
	require.NoError(t, err)
	tok, err := signer.Sign(&authv1.Principal{TenantId: "t1", KeyId: "a"}, time.Time{})
	require.NoError(t, err)

	c := NewVerifyCache(principal.NewVerifier(principal.StaticKeys{"k1": signer.PublicKey()}), 2)
	p1, err := c.Verify(tok)
	require.NoError(t, err)
	p2, err := c.Verify(tok)
	require.NoError(t, err)
	require.Same(t, p1, p2, "the second call is served from the cache")

	// One changed byte is a different token: verified from scratch, refused.
	forged := []byte(tok)
	forged[len(forged)-2] ^= 1
	_, err = c.Verify(string(forged))
	require.Error(t, err)
	_, err = c.Verify("")
	require.ErrorIs(t, err, principal.ErrMissing)

	// Past the assertion's expiry the cache does not answer; the verifier
	// decides again (and, with the real clock, still accepts it).
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	p3, err := c.Verify(tok)
	require.NoError(t, err)
	require.NotSame(t, p1, p3)

	// The cache stays bounded.
	for i := range 5 {
		tk, err := signer.Sign(&authv1.Principal{TenantId: "t1", KeyId: string(rune('b' + i))}, time.Time{})
		require.NoError(t, err)
		_, err = c.Verify(tk)
		require.NoError(t, err)
		require.LessOrEqual(t, len(c.m), 2)
	}
}
