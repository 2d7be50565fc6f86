package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/inference"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestLegacyPromptsSealedWithoutTheTenant: system prompts stored in
// plaintext before sealing are sealed by the sweep with no call of their
// tenants (keyvault's WrapForTenant; nothing unwrapped), by sweeps
// running at once without a row sealed twice; the tenant's next read opens the prompt
// and re-seals it with the tenant's data key; a crypto-shredded tenant's
// plaintext is erased to a tombstone that reads as FailedPrecondition; a
// second pass finds nothing (ADR 0077).
func TestLegacyPromptsSealedWithoutTheTenant(t *testing.T) {
	const canary = "LEGACY-EAGER-CANARY-5d21"
	e, _ := ragEnv(t)
	kv := e.srv.Keyvault
	st, err := store.Open(t.Context(), filepath.Join(e.srv.DataDir, "usage.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	// t3 is shredded before its rows exist: the app's own start-up pass
	// may run at any moment from here on, and had it sealed t3's rows
	// before the shred they would be a (now unreadable) seal, not the
	// tombstone this test expects (a CI run saw that interleaving).
	kv.KMS.Shred("t3")
	prompts := map[string]string{}
	for _, tenant := range []string{"t1", "t2", "t3"} {
		for _, name := range []string{"kb-a", "kb-b"} {
			p := "You answer for " + tenant + "/" + name + ". " + canary
			prompts[tenant+"/"+name] = p
			require.NoError(t, st.CreateAssistant(t.Context(), store.Assistant{Tenant: tenant, Name: name, Model: "gpt-fake", SystemPrompt: p}))
		}
	}
	decrypts := kv.Decrypts()

	var wg sync.WaitGroup
	sweeps := make([]inference.LegacySweep, 2)
	for i := range sweeps {
		wg.Go(func() {
			var err error
			sweeps[i], err = e.srv.App().SealLegacyPrompts(t.Context())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	// The app's own start-up pass may run at the same time (a third
	// replica, in effect): the conditional update lets one pass win each
	// row, the others count it skipped.
	require.LessOrEqual(t, sweeps[0].Sealed+sweeps[1].Sealed, 4, "no row sealed twice: %+v", sweeps)
	require.LessOrEqual(t, sweeps[0].Erased+sweeps[1].Erased, 2, "%+v", sweeps)
	for _, sw := range sweeps {
		require.LessOrEqual(t, sw.Sealed+sw.Erased+sw.Skipped, 6, "%+v", sw)
	}
	require.Equal(t, decrypts, kv.Decrypts(), "the sweep unwraps no key")
	require.GreaterOrEqual(t, kv.Wraps(), int64(4))

	files, err := filepath.Glob(filepath.Join(e.srv.DataDir, "*"))
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		// The WAL may still hold the pages written before the update;
		// the database file itself must not.
		if filepath.Ext(f) == ".db" {
			require.False(t, bytes.Contains(b, []byte(canary)), "plaintext system prompt in %s", f)
		}
	}
	for _, tenant := range []string{"t1", "t2"} {
		row, err := st.Assistant(t.Context(), tenant, "kb-a")
		require.NoError(t, err)
		require.Empty(t, row.SystemPrompt)
		require.True(t, promptlog.PromptSealedForTenant(row.SealedPrompt), "version-2 seal")
	}

	v2, err := st.Assistant(t.Context(), "t1", "kb-b")
	require.NoError(t, err)
	wrapped, err := promptlog.WrappedKeyOf(v2.SealedPrompt)
	require.NoError(t, err)

	again, err := e.srv.App().SealLegacyPrompts(t.Context())
	require.NoError(t, err)
	require.Equal(t, inference.LegacySweep{}, again, "idempotent: nothing left")

	admin := e.ctx(t, adminOf("t1"))
	got, err := e.client.GetAssistant(admin, &inferencev1.GetAssistantRequest{Name: "kb-a"})
	require.NoError(t, err)
	require.Equal(t, prompts["t1/kb-a"], got.GetAssistant().GetSystemPrompt())
	row, err := st.Assistant(t.Context(), "t1", "kb-a")
	require.NoError(t, err)
	require.False(t, promptlog.PromptSealedForTenant(row.SealedPrompt), "re-sealed with the tenant's data key at its read")
	require.NotEmpty(t, row.SealedPrompt)
	list, err := e.client.ListAssistants(admin, &inferencev1.ListAssistantsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAssistants(), 2)
	for _, a := range list.GetAssistants() {
		require.Equal(t, prompts["t1/"+a.GetName()], a.GetSystemPrompt())
	}

	t.Run("another tenant's principal opens nothing", func(t *testing.T) {
		// t2's principal asks for its own assistant of that name: its own
		// row. The key inside t1's version-2 seal unwraps only under t1's
		// key (keyvault unwraps for the principal's tenant).
		got, err := e.client.GetAssistant(e.ctx(t, adminOf("t2")), &inferencev1.GetAssistantRequest{Name: "kb-b"})
		require.NoError(t, err)
		require.Equal(t, prompts["t2/kb-b"], got.GetAssistant().GetSystemPrompt())
		_, err = kv.KMS.Unwrap("t2", wrapped, promptlog.WrapContext("t1"))
		require.Error(t, err)
		_, err = kv.KMS.Unwrap("t1", wrapped, promptlog.WrapContext("t1"))
		require.NoError(t, err)
	})

	t.Run("shredded tenant: erased, unreadable", func(t *testing.T) {
		row, err := st.Assistant(t.Context(), "t3", "kb-a")
		require.NoError(t, err)
		require.Empty(t, row.SystemPrompt)
		require.Equal(t, promptlog.ShreddedPrompt(), row.SealedPrompt)
		_, err = e.client.GetAssistant(e.ctx(t, adminOf("t3")), &inferencev1.GetAssistantRequest{Name: "kb-a"})
		require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	})
}
