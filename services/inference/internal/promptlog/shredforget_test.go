package promptlog_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/tenantevents"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// The logger is what inference's shred watcher drops keys from.
var _ tenantevents.KeyCache = (*promptlog.Logger)(nil)

// TestForgetDropsTheKeyAtOnce (ADR 0084): after a crypto-shred made in
// keyvault alone the cached key would open the tenant's sealed prompt for
// the rest of KeyTTL; the shred watcher's Forget ends that at once (the
// next open asks keyvault, which refuses) and leaves the other tenants'
// keys. ForgetAll (a RESYNC) drops every key.
func TestForgetDropsTheKeyAtOnce(t *testing.T) {
	k := keyvaulttest.NewKMS()
	l := promptlog.New(openStore(t, filepath.Join(t.TempDir(), "usage.db")), keyvaulttest.Direct{K: k}, func(string) bool { return false })
	ctx := t.Context()
	a, err := l.SealAssistantPrompt(ctx, "t1", "kb", "prompt one")
	require.NoError(t, err)
	b, err := l.SealAssistantPrompt(ctx, "t2", "kb", "prompt two")
	require.NoError(t, err)

	k.Shred("t1")
	got, err := l.OpenAssistantPrompt(ctx, "t1", "kb", a)
	require.NoError(t, err, "without the event the cached key still opens it (KeyTTL's bound)")
	require.Equal(t, "prompt one", got)

	l.Forget("t1") // what the shred watcher does on SHREDDED
	_, err = l.OpenAssistantPrompt(ctx, "t1", "kb", a)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "keyvault is asked again and refuses")
	decrypts := k.Decrypted.Load()
	got, err = l.OpenAssistantPrompt(ctx, "t2", "kb", b)
	require.NoError(t, err)
	require.Equal(t, "prompt two", got)
	require.Equal(t, decrypts, k.Decrypted.Load(), "the other tenant's key stays cached")

	l.ForgetAll() // RESYNC
	_, err = l.OpenAssistantPrompt(ctx, "t2", "kb", b)
	require.NoError(t, err)
	require.Equal(t, decrypts+1, k.Decrypted.Load(), "every key is unwrapped again")
}

// TestForgetDropsAKeyBeingUnwrapped: a shred event that lands while a call
// is unwrapping the tenant's key (keyvault answered before the shred)
// leaves nothing cached: the call fails with ErrDropped
// (FailedPrecondition), and the next one asks keyvault again; the same for
// ForgetAll.
func TestForgetDropsAKeyBeingUnwrapped(t *testing.T) {
	for _, tc := range []struct {
		name   string
		forget func(*promptlog.Logger)
	}{
		{"Forget", func(l *promptlog.Logger) { l.Forget("t1") }},
		{"ForgetAll", func(l *promptlog.Logger) { l.ForgetAll() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := keyvaulttest.NewKMS()
			st := openStore(t, filepath.Join(t.TempDir(), "usage.db"))
			ctx := t.Context()
			sealed, err := promptlog.New(st, keyvaulttest.Direct{K: k}, func(string) bool { return false }).SealAssistantPrompt(ctx, "t1", "kb", "prompt")
			require.NoError(t, err)
			g := keyvaulttest.NewGated(k)
			l := promptlog.New(st, g, func(string) bool { return false })

			done := make(chan error, 1)
			go func() { _, err := l.OpenAssistantPrompt(ctx, "t1", "kb", sealed); done <- err }()
			release := <-g.Entered // the key is being unwrapped
			tc.forget(l)
			close(release)
			err = <-done
			require.ErrorIs(t, err, promptlog.ErrDropped)
			require.ErrorIs(t, err, grpcerr.ErrFailedPrecondition)

			go func() { close(<-g.Entered) }()
			got, err := l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
			require.NoError(t, err, "the next call unwraps again (keyvault decides)")
			require.Equal(t, "prompt", got)
		})
	}
}
