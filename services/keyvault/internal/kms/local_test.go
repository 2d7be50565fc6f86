package kms_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

func openLocal(t *testing.T, dir string) (*kms.Local, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	l, err := kms.OpenLocal(dir, st)
	require.NoError(t, err)
	return l, st
}

func TestLocalMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	openLocal(t, dir)
	path := filepath.Join(dir, kms.MasterKeyFile)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "generated 0600")

	tests := []struct {
		desc    string
		mutate  func(t *testing.T)
		wantErr string
	}{
		{"others-readable file refused", func(t *testing.T) { require.NoError(t, os.Chmod(path, 0o604)) }, "chmod 600"},
		{"group-writable file refused", func(t *testing.T) { require.NoError(t, os.Chmod(path, 0o660)) }, "chmod 600"},
		{"readable by another group refused", func(t *testing.T) {
			require.NoError(t, os.Chmod(path, 0o640))
			if err := os.Chown(path, -1, os.Getegid()+1); err != nil {
				t.Skip("cannot give the file another group here:", err)
			}
		}, "chmod 600"},
		{"not JSON", func(t *testing.T) { require.NoError(t, os.WriteFile(path, []byte("{"), 0o600)) }, "not valid JSON"},
		{"short key", func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(`{"current":1,"keys":{"1":"AAAA"}}`), 0o600))
		}, "malformed"},
		{"missing current version", func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(`{"current":2,"keys":{}}`), 0o600))
		}, "no current version 2"},
	}
	// A Kubernetes Secret volume: readable by the owner and this process's
	// group (the pod's fsGroup) only.
	d := t.TempDir()
	openLocal(t, d)
	require.NoError(t, os.Chmod(filepath.Join(d, kms.MasterKeyFile), 0o440))
	st, err := store.Open(context.Background(), d)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = kms.OpenLocal(d, st)
	require.NoError(t, err, "group-readable by our own group is accepted")

	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			d := t.TempDir()
			openLocal(t, d)
			path = filepath.Join(d, kms.MasterKeyFile)
			tc.mutate(t)
			st, err := store.Open(context.Background(), d)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			_, err = kms.OpenLocal(d, st)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestLocalWrapUnwrap(t *testing.T) {
	l, _ := openLocal(t, t.TempDir())
	ctx := context.Background()
	ec := map[string]string{"purpose": "chunks", "doc": "d1"}
	dk, err := l.GenerateDataKey(ctx, "t1", ec)
	require.NoError(t, err)
	require.Len(t, dk.Plaintext, kms.DataKeySize)
	require.Equal(t, "tenant-kek/v1", dk.KeyID)

	pt, id, err := l.Decrypt(ctx, "t1", dk.Wrapped, ec)
	require.NoError(t, err)
	require.Equal(t, dk.Plaintext, pt)
	require.Equal(t, dk.KeyID, id)

	flipped := append([]byte(nil), dk.Wrapped...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		desc   string
		tenant string
		blob   []byte
		ec     map[string]string
	}{
		{"other tenant", "t2", dk.Wrapped, ec},
		{"context value changed", "t1", dk.Wrapped, map[string]string{"purpose": "chunks", "doc": "d2"}},
		{"context entry missing", "t1", dk.Wrapped, map[string]string{"purpose": "chunks"}},
		{"context entry added", "t1", dk.Wrapped, map[string]string{"purpose": "chunks", "doc": "d1", "x": "y"}},
		{"tampered", "t1", flipped, ec},
		{"truncated", "t1", dk.Wrapped[:10], ec},
		{"garbage", "t1", []byte("not a wrapped key at all"), ec},
		{"unknown version", "t1", append([]byte("RKL1\x00\x00\x00\x09"), dk.Wrapped[8:]...), ec},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, _, err := l.Decrypt(ctx, tc.tenant, tc.blob, tc.ec)
			require.ErrorIs(t, err, kms.ErrDecrypt)
		})
	}
}

func TestLocalKeyVersions(t *testing.T) {
	dir := t.TempDir()
	l, st := openLocal(t, dir)
	ctx := context.Background()
	v1, err := l.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	id, err := l.RotateTenantKey(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, "tenant-kek/v2", id)
	v2, err := l.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	require.Equal(t, "tenant-kek/v2", v2.KeyID, "new keys use the new version")

	// Wrap (ReEncrypt) moves an old data key to the current version.
	rewrapped, kid, err := l.Wrap(ctx, "t1", v1.Plaintext, nil)
	require.NoError(t, err)
	require.Equal(t, "tenant-kek/v2", kid)

	// A fresh provider over the same files (restart) still opens every
	// version; the tenant's other tenants are unaffected by its rotation.
	l2, err := kms.OpenLocal(dir, st)
	require.NoError(t, err)
	for _, c := range []struct {
		blob []byte
		want []byte
		kid  string
	}{{v1.Wrapped, v1.Plaintext, "tenant-kek/v1"}, {v2.Wrapped, v2.Plaintext, "tenant-kek/v2"}, {rewrapped, v1.Plaintext, "tenant-kek/v2"}} {
		pt, k, err := l2.Decrypt(ctx, "t1", c.blob, nil)
		require.NoError(t, err)
		require.Equal(t, c.want, pt)
		require.Equal(t, c.kid, k)
	}
	t2, err := l2.GenerateDataKey(ctx, "t2", nil)
	require.NoError(t, err)
	require.Equal(t, "tenant-kek/v1", t2.KeyID)
}

func TestLocalRotateMaster(t *testing.T) {
	dir := t.TempDir()
	l, st := openLocal(t, dir)
	ctx := context.Background()
	var keys []kms.DataKey
	for _, tenant := range []string{"t1", "t2"} {
		dk, err := l.GenerateDataKey(ctx, tenant, nil)
		require.NoError(t, err)
		keys = append(keys, dk)
	}
	_, err := l.RotateTenantKey(ctx, "t1")
	require.NoError(t, err)
	before, err := st.AllKEKs(ctx)
	require.NoError(t, err)
	require.Len(t, before, 3)

	v, err := l.RotateMaster(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, v)
	require.Equal(t, 2, l.MasterVersion())
	after, err := st.AllKEKs(ctx)
	require.NoError(t, err)
	require.Len(t, after, 3)
	for i := range after {
		require.Equal(t, 2, after[i].MasterVersion, "every KEK rewrapped under the new master")
		require.NotEqual(t, before[i].Wrapped, after[i].Wrapped)
	}
	var mf struct {
		Current int               `json:"current"`
		Keys    map[string]string `json:"keys"`
	}
	b, err := os.ReadFile(filepath.Join(dir, kms.MasterKeyFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &mf))
	require.Equal(t, 2, mf.Current)

	// Data keys wrapped before the master rotation still open, after a
	// restart too.
	l2, err := kms.OpenLocal(dir, st)
	require.NoError(t, err)
	for i, tenant := range []string{"t1", "t2"} {
		pt, _, err := l2.Decrypt(ctx, tenant, keys[i].Wrapped, nil)
		require.NoError(t, err)
		require.Equal(t, keys[i].Plaintext, pt)
	}
}

func TestLocalDestroyTenant(t *testing.T) {
	l, _ := openLocal(t, t.TempDir())
	ctx := context.Background()
	dk, err := l.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	other, err := l.GenerateDataKey(ctx, "t2", nil)
	require.NoError(t, err)
	require.NoError(t, l.DestroyTenant(ctx, "t1"))

	_, _, err = l.Decrypt(ctx, "t1", dk.Wrapped, nil)
	require.ErrorIs(t, err, kms.ErrShredded)
	_, err = l.GenerateDataKey(ctx, "t1", nil)
	require.ErrorIs(t, err, kms.ErrShredded, "a shredded tenant gets no new key")
	_, err = l.RotateTenantKey(ctx, "t1")
	require.ErrorIs(t, err, kms.ErrShredded)
	_, err = l.RotateMaster(ctx)
	require.NoError(t, err, "master rotation skips destroyed keys")

	pt, _, err := l.Decrypt(ctx, "t2", other.Wrapped, nil)
	require.NoError(t, err)
	require.Equal(t, other.Plaintext, pt)
}

func TestEnvelopeAAD(t *testing.T) {
	dir := t.TempDir()
	l, st := openLocal(t, dir)
	env := kms.NewEnvelope(l, st)
	ctx := context.Background()
	ct, dek, err := env.Seal(ctx, "t1", "s1", "v1", []byte("hunter2"))
	require.NoError(t, err)
	pt, err := env.Open(ctx, "t1", "s1", "v1", dek, ct)
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(pt))
	for _, c := range [][3]string{{"t1", "s1", "v2"}, {"t1", "s2", "v1"}, {"t2", "s1", "v1"}} {
		_, err := env.Open(ctx, c[0], c[1], c[2], dek, ct)
		require.Error(t, err, "moved ciphertext %v must not open", c)
	}
	require.NotEqual(t, kms.AAD("t1", "s1v", "1"), kms.AAD("t1", "s1", "v1"), "AAD parts are length-prefixed")
}

// TestAADBytes pins the AAD's bytes: every stored ciphertext was sealed
// with them, so a change would make every secret unreadable.
func TestAADBytes(t *testing.T) {
	want := "\x00\x00\x00\x11rampart-secret-v1" + "\x00\x00\x00\x02t1" + "\x00\x00\x00\x00" + "\x00\x00\x00\x05v-\u00e9\x00"
	got := kms.AAD("t1", "", "v-\u00e9\x00")
	require.Equal(t, []byte(want), got)
	require.Equal(t, len(got), cap(got), "built at its final size")
}

// staleFirstRead is replica B's view of the store when replica A creates
// the tenant's first KEK between B's read and B's insert: the first read
// runs A's creation, then answers what B had seen (no key yet).
type staleFirstRead struct {
	kms.KEKStore
	once   bool
	before func()
}

func (s *staleFirstRead) TenantKEKs(ctx context.Context, tenant string) ([]kms.StoredKEK, error) {
	if !s.once {
		s.once = true
		s.before()
		return nil, nil
	}
	return s.KEKStore.TenantKEKs(ctx, tenant)
}

// Two keyvault replicas creating a new tenant's first KEK at once: the
// one whose insert loses uses the winner's key instead of failing the
// request (seen as an HTTP 500 under the chaos test's load).
func TestLocalFirstKEKRaceBetweenReplicas(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, st := openLocal(t, dir)
	var fromA kms.DataKey
	b, err := kms.OpenLocal(dir, &staleFirstRead{KEKStore: st, before: func() {
		var err error
		fromA, err = a.GenerateDataKey(ctx, "t-new", nil)
		require.NoError(t, err)
	}})
	require.NoError(t, err)

	fromB, err := b.GenerateDataKey(ctx, "t-new", nil)
	require.NoError(t, err, "the losing replica uses the key the other one created")
	require.Equal(t, fromA.KeyID, fromB.KeyID, "one KEK version")
	for _, tt := range []struct {
		p  *kms.Local
		dk kms.DataKey
	}{{a, fromB}, {b, fromA}} {
		plain, _, err := tt.p.Decrypt(ctx, "t-new", tt.dk.Wrapped, nil)
		require.NoError(t, err)
		require.Equal(t, tt.dk.Plaintext, plain)
	}
}

// Two replicas over one store: what one rotates or shreds, the other's
// caches follow within KeyCacheTTL (its KEKs and its envelope's current
// data key), instead of wrapping under an old KEK version and unwrapping
// and sealing for a shredded tenant until a restart.
func TestKeyCachesFollowOtherReplica(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, st := openLocal(t, dir)
	b, err := kms.OpenLocal(dir, st)
	require.NoError(t, err)
	envA, envB := kms.NewEnvelope(a, st), kms.NewEnvelope(b, st)

	first, err := b.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	_, _, err = envB.Seal(ctx, "t1", "s1", "v1", []byte("x"))
	require.NoError(t, err)
	rotated, err := a.RotateTenantKey(ctx, "t1")
	require.NoError(t, err)
	require.NotEqual(t, first.KeyID, rotated)

	time.Sleep(kms.KeyCacheTTL)
	dk, err := b.GenerateDataKey(ctx, "t1", nil)
	require.NoError(t, err)
	require.Equal(t, rotated, dk.KeyID, "B wraps under the version A rotated to")

	require.NoError(t, envA.Shred(ctx, "t1"))
	_, err = st.EraseTenant(ctx, "t1", time.Now())
	require.NoError(t, err)
	time.Sleep(kms.KeyCacheTTL)
	_, _, err = b.Decrypt(ctx, "t1", first.Wrapped, nil)
	require.ErrorIs(t, err, kms.ErrShredded, "B no longer unwraps the shredded tenant's data keys")
	// A write checks the key before its transaction (EnsureKey), then seals.
	require.ErrorIs(t, envB.EnsureKey(ctx, "t1"), kms.ErrShredded, "B's write path sees the shred")
	_, _, err = envB.Seal(ctx, "t1", "s2", "v1", []byte("x"))
	require.ErrorIs(t, err, kms.ErrShredded, "B no longer seals for the shredded tenant")
}
