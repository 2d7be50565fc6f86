package promptlog_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestStoredResponses: a stored response reads back for its tenant only,
// deletes once, is sealed on disk (the canary of its input is nowhere in
// the database files), and a sealed row does not open under another id.
func TestStoredResponses(t *testing.T) {
	pad := make([]byte, 32)
	_, _ = rand.Read(pad)
	k := &kms{pad: pad}
	dir := t.TempDir()
	path := filepath.Join(dir, "usage.db")
	st := openStore(t, path)
	// Prompt logging is off for every tenant: storing is the client's
	// choice (store: true), not the prompt-log switch.
	l := promptlog.New(st, k, func(string) bool { return false })
	rs := promptlog.NewResponses(l, st)
	ctx := t.Context()
	at := time.Now()

	const canary = "canary-7f3a9c-the-stored-input"
	in := promptlog.StoredResponse{
		Input:    json.RawMessage(`[{"role":"user","content":"` + canary + `"}]`),
		Response: json.RawMessage(`{"id":"resp_1","object":"response","output":[]}`),
	}
	require.NoError(t, rs.Put(ctx, "a", "resp_1", at, in))
	require.NoError(t, rs.Put(ctx, "b", "resp_2", at, promptlog.StoredResponse{Input: json.RawMessage(`[]`), Response: json.RawMessage(`{}`)}))

	got, err := rs.Get(ctx, "a", "resp_1")
	require.NoError(t, err)
	require.JSONEq(t, string(in.Input), string(got.Input))
	require.JSONEq(t, string(in.Response), string(got.Response))

	tests := []struct{ name, tenant, id string }{
		{"another tenant's id", "b", "resp_1"},
		{"unknown id", "a", "resp_nope"},
		{"tenant without a key", "c", "resp_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rs.Get(ctx, tt.tenant, tt.id)
			require.ErrorIs(t, err, promptlog.ErrResponseNotFound)
			require.ErrorIs(t, rs.Delete(ctx, tt.tenant, tt.id), promptlog.ErrResponseNotFound)
		})
	}

	// The ciphertext is bound to tenant and id: copied under another id it
	// does not open.
	row, err := st.StoredResponse(ctx, "a", "resp_1")
	require.NoError(t, err)
	require.NoError(t, st.InsertStoredResponse(ctx, store.StoredResponse{Tenant: "a", ID: "resp_copy", Sealed: row.Sealed, At: at}))
	_, err = rs.Get(ctx, "a", "resp_copy")
	require.ErrorContains(t, err, "does not open")

	// Canary: no plaintext of the stored input on disk (database, WAL).
	files, err := filepath.Glob(filepath.Join(dir, "usage.db*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(canary)), "plaintext of the stored input in %s", f)
	}

	require.NoError(t, rs.Delete(ctx, "a", "resp_1"))
	_, err = rs.Get(ctx, "a", "resp_1")
	require.ErrorIs(t, err, promptlog.ErrResponseNotFound)
	require.ErrorIs(t, rs.Delete(ctx, "a", "resp_1"), promptlog.ErrResponseNotFound)
	_, err = rs.Get(ctx, "b", "resp_2")
	require.NoError(t, err, "another tenant's response is untouched")
}
