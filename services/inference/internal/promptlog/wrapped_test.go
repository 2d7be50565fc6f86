package promptlog_test

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// wrapper is keyvault's WrapForTenant over the fake KMS: a fresh key of
// the named tenant bound to the context plus keyvault's marker (or, with
// bind set, to what bind returns: a keyvault that misbehaves).
type wrapper struct {
	k    *keyvaulttest.KMS
	bind func(map[string]string) map[string]string
}

func (w wrapper) WrapForTenant(_ context.Context, tenant string, ec map[string]string) ([]byte, []byte, map[string]string, error) {
	bound := maps.Clone(ec)
	bound[keyvaulttest.WrapMarker] = "1"
	if w.bind != nil {
		bound = w.bind(bound)
	}
	p, wrapped, err := w.k.Generate(tenant, bound)
	return p, wrapped, bound, err
}

// TestPromptSealedForTenant: a legacy system prompt sealed without a
// principal (version 2, its own wrapped key) holds no plaintext, opens
// through the tenant's key unwrap only for its tenant and name, no longer
// opens once the tenant is shredded; a shredded tenant's tombstone opens
// with FailedPrecondition; a key bound to another context is refused.
func TestPromptSealedForTenant(t *testing.T) {
	const prompt = "CANARY-legacy-prompt-0b7e: escalate to the on-call lead"
	k := keyvaulttest.NewKMS()
	l := promptlog.New(openStore(t, filepath.Join(t.TempDir(), "usage.db")), keyvaulttest.Direct{K: k}, func(string) bool { return false })
	ctx := t.Context()

	sealed, err := promptlog.SealPromptForTenant(ctx, wrapper{k: k}, "t1", "kb", prompt)
	require.NoError(t, err)
	require.True(t, promptlog.PromptSealedForTenant(sealed))
	require.False(t, bytes.Contains(sealed, []byte("CANARY")), "plaintext in the sealed prompt")
	wrapped, err := promptlog.WrappedKeyOf(sealed)
	require.NoError(t, err)
	require.NotEmpty(t, wrapped)
	require.Zero(t, k.Decrypted.Load(), "sealing unwraps nothing")

	got, err := l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.NoError(t, err)
	require.Equal(t, prompt, got)
	for _, tc := range []struct{ name, tenant, assistant string }{
		{"another tenant's key", "t2", "kb"},
		{"another assistant", "t1", "kb2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.OpenAssistantPrompt(ctx, tc.tenant, tc.assistant, sealed)
			require.Error(t, err)
		})
	}
	t.Run("malformed", func(t *testing.T) {
		for _, b := range [][]byte{{2}, {2, 0, 0}, {2, 0xff, 0xff, 1}, sealed[:len(sealed)-1]} {
			_, err := l.OpenAssistantPrompt(ctx, "t1", "kb", b)
			require.Error(t, err)
		}
	})
	t.Run("keyvault bound the key elsewhere", func(t *testing.T) {
		_, err := promptlog.SealPromptForTenant(ctx, wrapper{k: k, bind: func(map[string]string) map[string]string {
			return map[string]string{"tenant": "t1", "purpose": promptlog.Purpose}
		}}, "t1", "kb", prompt)
		require.ErrorContains(t, err, "unexpected encryption context")
	})

	k.Shred("t1")
	_, err = l.OpenAssistantPrompt(ctx, "t1", "kb", sealed)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded)
	_, err = promptlog.SealPromptForTenant(ctx, wrapper{k: k}, "t1", "kb", prompt)
	require.ErrorIs(t, err, keyvaulttest.ErrShredded, "a shredded tenant gets no key")
	_, err = l.OpenAssistantPrompt(ctx, "t1", "kb", promptlog.ShreddedPrompt())
	require.Equal(t, codes.FailedPrecondition, grpcerr.Code(err))
}
