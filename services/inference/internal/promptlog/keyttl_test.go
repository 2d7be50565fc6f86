package promptlog_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// TestUnwrappedKeyExpires: a tenant's unwrapped data key is used for at
// most KeyTTL, so a crypto-shred made in keyvault alone reaches a running
// replica within it: before, the cached key still opens the tenant's
// sealed prompt; after, keyvault is asked again and refuses (ADR 0077).
func TestUnwrappedKeyExpires(t *testing.T) {
	k := keyvaulttest.NewKMS()
	l := promptlog.New(openStore(t, filepath.Join(t.TempDir(), "usage.db")), keyvaulttest.Direct{K: k}, func(string) bool { return false })
	now := time.Now()
	l.SetClock(func() time.Time { return now })
	ctx := t.Context()
	sealed, err := l.SealAssistantPrompt(ctx, "t1", "kb", "prompt")
	require.NoError(t, err)
	decrypts := k.Decrypted.Load()

	k.Shred("t1")
	now = now.Add(promptlog.KeyTTL - time.Second)
	got, err := l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.NoError(t, err, "within the TTL the cached key is used")
	require.Equal(t, "prompt", got)
	require.Equal(t, decrypts, k.Decrypted.Load(), "without asking keyvault")

	now = now.Add(time.Second)
	_, err = l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "after it keyvault is asked again")
	_, err = l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "and the expired key is not used again")
}
