package promptlog_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// TestAssistantPromptSealedAndShredded: an assistant's system prompt is
// sealed with the tenant's data key (no plaintext in the sealed bytes),
// opens only for its tenant and name, and no longer opens once keyvault
// has shredded the tenant (a replica without the key in memory, as after
// a restart, cannot unwrap the data key).
func TestAssistantPromptSealedAndShredded(t *testing.T) {
	const prompt = "CANARY-system-prompt-4e1d: the Q3 layoffs are confidential"
	k := keyvaulttest.NewKMS()
	st := openStore(t, filepath.Join(t.TempDir(), "usage.db"))
	never := func(string) bool { return false }
	l := promptlog.New(st, keyvaulttest.Direct{K: k}, never)
	ctx := t.Context()

	sealed, err := l.SealAssistantPrompt(ctx, "t1", "kb", prompt)
	require.NoError(t, err)
	require.False(t, bytes.Contains(sealed, []byte("CANARY")), "plaintext in the sealed prompt")
	got, err := l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.NoError(t, err)
	require.Equal(t, prompt, got)

	_, err = l.SealAssistantPrompt(ctx, "t2", "kb", "other")
	require.NoError(t, err)
	for _, tt := range []struct{ name, tenant, assistant string }{
		{"another assistant", "t1", "kb2"},
		{"another tenant's assistant of that name", "t2", "kb"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.OpenAssistantPrompt(ctx, tt.tenant, tt.assistant, sealed)
			require.ErrorContains(t, err, "does not open")
		})
	}

	k.Shred("t1")
	fresh := promptlog.New(st, keyvaulttest.Direct{K: k}, never)
	_, err = fresh.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded)
	_, err = fresh.SealAssistantPrompt(ctx, "t2", "kb", "other")
	require.NoError(t, err, "another tenant's key is untouched")
}
