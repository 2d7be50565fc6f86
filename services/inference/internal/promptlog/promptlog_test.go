package promptlog_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// kms wraps keys trivially (XOR with a pad) but checks the tenant in the
// encryption context, like keyvault binds keys to the caller's tenant.
type kms struct {
	pad           []byte
	gen, decrypts int
	fail          bool
}

func (k *kms) GenerateDataKey(_ context.Context, ec map[string]string) ([]byte, []byte, string, error) {
	if k.fail {
		return nil, nil, "", errors.New("kms down")
	}
	k.gen++
	p := make([]byte, 32)
	_, _ = rand.Read(p)
	w := append([]byte(ec["tenant"]+"|"), xor(p, k.pad)...)
	return append([]byte(nil), p...), w, "kek-1", nil
}

func (k *kms) Decrypt(_ context.Context, w []byte, ec map[string]string) ([]byte, error) {
	k.decrypts++
	prefix := ec["tenant"] + "|"
	if len(w) != len(prefix)+32 || string(w[:len(prefix)]) != prefix || ec["purpose"] != promptlog.Purpose {
		return nil, errors.New("wrong context")
	}
	return xor(w[len(prefix):], k.pad), nil
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSealOpenAndBinding(t *testing.T) {
	pad := make([]byte, 32)
	_, _ = rand.Read(pad)
	k := &kms{pad: pad}
	path := filepath.Join(t.TempDir(), "usage.db")
	st := openStore(t, path)
	on := func(tenant string) bool { return tenant != "off" }
	l := promptlog.New(st, k, on)
	ctx := t.Context()
	at := time.Now()

	for _, e := range []promptlog.Entry{
		{Tenant: "a", RequestID: "r1", Key: "k", Model: "m", Endpoint: "chat", Request: json.RawMessage(`{"q":1}`), Response: json.RawMessage(`{"a":1}`), At: at},
		{Tenant: "a", RequestID: "r2", Key: "k", Model: "m", Endpoint: "chat", Request: json.RawMessage(`{"q":2}`), Response: json.RawMessage(`{"a":2}`), At: at},
		{Tenant: "b", RequestID: "r1", Key: "k", Model: "m", Endpoint: "chat", Request: json.RawMessage(`{"q":"b"}`), Response: json.RawMessage(`{}`), At: at},
		{Tenant: "off", RequestID: "r1", Request: json.RawMessage(`{}`), Response: json.RawMessage(`{}`), At: at},
	} {
		require.NoError(t, l.Record(ctx, e))
	}
	require.Equal(t, 2, k.gen, "one data key per tenant with logging on")

	e, err := l.Get(ctx, "a", "r2")
	require.NoError(t, err)
	require.JSONEq(t, `{"q":2}`, string(e.Request))
	_, err = l.Get(ctx, "off", "r1")
	require.ErrorIs(t, err, promptlog.ErrNotFound)

	// A restarted replica unwraps the stored key once through the KMS.
	l2 := promptlog.New(st, k, on)
	e, err = l2.Get(ctx, "b", "r1")
	require.NoError(t, err)
	require.JSONEq(t, `{"q":"b"}`, string(e.Request))
	require.Equal(t, 1, k.decrypts)
	entries, next, err := l2.List(ctx, "a", at.Add(-time.Hour), at.Add(time.Hour), 0, 10)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Zero(t, next)
	require.Equal(t, 2, k.decrypts, "one unwrap per tenant")
	_, err = l2.Get(ctx, "a", "r1")
	require.NoError(t, err)
	require.Equal(t, 2, k.decrypts, "then cached")

	// A sealed entry moved to another request id or tenant does not open
	// (AAD = tenant ‖ request id).
	row, err := st.PromptLog(ctx, "a", "r1")
	require.NoError(t, err)
	row.RequestID = "r-forged"
	require.NoError(t, st.InsertPromptLog(ctx, row))
	_, err = l2.Get(ctx, "a", "r-forged")
	require.Error(t, err)
	row.Tenant, row.RequestID = "b", "r1"
	require.NoError(t, st.InsertPromptLog(ctx, row))
	_, err = l2.Get(ctx, "b", "r1") // the newest row for b/r1 is the forged one
	require.Error(t, err)
}

func TestKMSFailureStoresNothing(t *testing.T) {
	k := &kms{pad: make([]byte, 32), fail: true}
	st := openStore(t, filepath.Join(t.TempDir(), "usage.db"))
	l := promptlog.New(st, k, func(string) bool { return true })
	err := l.Record(t.Context(), promptlog.Entry{Tenant: "a", RequestID: "r", Request: json.RawMessage(`{}`), Response: json.RawMessage(`{}`)})
	require.Error(t, err)
	n, err := st.CountPromptLogs(t.Context(), "a")
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = st.TenantKey(t.Context(), "a")
	require.ErrorIs(t, err, store.ErrNotFound)
}
