package signing_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func TestSigningKeys(t *testing.T) {
	dir := t.TempDir()
	kekPath := filepath.Join(dir, "kek")
	kek, err := signing.LoadKEK(kekPath)
	require.NoError(t, err)
	fi, err := os.Stat(kekPath)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, err := signing.LoadKEK(kekPath)
	require.NoError(t, err)
	require.Equal(t, kek, again, "the KEK is created once and reused")

	dbPath := filepath.Join(dir, "auth.db")
	db, err := store.OpenSQLite(t.Context(), dbPath)
	require.NoError(t, err)
	defer db.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	m, err := signing.New(t.Context(), db, kek, clock, time.Hour)
	require.NoError(t, err)
	first := m.Signer()
	require.NotNil(t, first)
	require.Len(t, m.PublicKeys(), 1)

	tok, err := first.Sign(&authv1.Principal{TenantId: "t_1"}, time.Time{})
	require.NoError(t, err)
	_, err = principal.NewVerifier(m).Verify(tok)
	require.NoError(t, err)

	t.Run("restart reuses the key", func(t *testing.T) {
		m2, err := signing.New(t.Context(), db, kek, clock, time.Hour)
		require.NoError(t, err)
		require.Equal(t, first.KID(), m2.Signer().KID())
	})
	t.Run("wrong KEK cannot unseal", func(t *testing.T) {
		_, err := signing.New(t.Context(), db, bytes.Repeat([]byte{1}, 32), clock, time.Hour)
		require.ErrorContains(t, err, "unseal")
	})
	t.Run("the private key is stored only sealed", func(t *testing.T) {
		ks, err := db.Q().SigningKeys(t.Context(), now)
		require.NoError(t, err)
		block, err := aes.NewCipher(kek)
		require.NoError(t, err)
		gcm, err := cipher.NewGCM(block)
		require.NoError(t, err)
		n := gcm.NonceSize()
		seed, err := gcm.Open(nil, ks[0].Sealed[:n], ks[0].Sealed[n:], []byte(ks[0].KID))
		require.NoError(t, err)
		pub, ok := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		require.True(t, ok)
		require.Equal(t, ks[0].PublicKey, []byte(pub))
		raw, err := os.ReadFile(dbPath)
		require.NoError(t, err)
		wal, _ := os.ReadFile(dbPath + "-wal")
		all := append(raw, wal...)
		require.True(t, bytes.Contains(all, ks[0].PublicKey), "sanity: the file holds the key row")
		require.False(t, bytes.Contains(all, seed), "the private seed is never stored in clear")
		require.False(t, bytes.Contains(all, kek), "the KEK is not in the database")
	})
	t.Run("rotation publishes both keys, then retires the old", func(t *testing.T) {
		now = now.Add(time.Hour)
		require.NoError(t, m.MaybeRotate(t.Context()))
		require.NotEqual(t, first.KID(), m.Signer().KID())
		require.Len(t, m.PublicKeys(), 2)
		_, err = principal.NewVerifier(m).Verify(tok)
		require.NoError(t, err, "old assertions verify during the overlap")
		now = now.Add(principal.MaxTTL + 2*time.Minute)
		require.Len(t, m.PublicKeys(), 1)
		_, ok := m.PublicKey(first.KID())
		require.False(t, ok)
	})
}
