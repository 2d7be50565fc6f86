package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestLegacyPromptsAndReseal: the eager sealing's store calls on SQLite and
// PostgreSQL. LegacyPrompts pages through the rows still holding a
// plaintext prompt (and only those) in (tenant, name) order;
// ResealAssistantPrompt replaces a seal only while the row holds exactly
// the seal the caller read (ADR 0077).
func TestLegacyPromptsAndReseal(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			ctx := t.Context()
			at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			for _, a := range []store.Assistant{
				{Tenant: "t2", Name: "b", SystemPrompt: "p-t2-b"},
				{Tenant: "t1", Name: "b", SystemPrompt: "p-t1-b"},
				{Tenant: "t1", Name: "a", SystemPrompt: "p-t1-a"},
				{Tenant: "t1", Name: "sealed", SealedPrompt: []byte{2, 0, 1, 9}},
				{Tenant: "t1", Name: "none"},
			} {
				a.Model, a.Created = "echo", at
				require.NoError(t, st.CreateAssistant(ctx, a))
			}
			page, err := st.LegacyPrompts(ctx, "", "", 2)
			require.NoError(t, err)
			require.Equal(t, []store.LegacyPrompt{{Tenant: "t1", Name: "a", SystemPrompt: "p-t1-a"}, {Tenant: "t1", Name: "b", SystemPrompt: "p-t1-b"}}, page)
			page, err = st.LegacyPrompts(ctx, "t1", "b", 2)
			require.NoError(t, err)
			require.Equal(t, []store.LegacyPrompt{{Tenant: "t2", Name: "b", SystemPrompt: "p-t2-b"}}, page)

			changed, err := st.SealAssistantPrompt(ctx, "t1", "a", "p-t1-a", []byte{2, 0, 1, 7})
			require.NoError(t, err)
			require.True(t, changed)
			page, err = st.LegacyPrompts(ctx, "", "", 10)
			require.NoError(t, err)
			require.Len(t, page, 2, "a sealed row is no longer listed")

			changed, err = st.ResealAssistantPrompt(ctx, "t1", "a", []byte{2, 0, 1, 8}, []byte{1, 5})
			require.NoError(t, err)
			require.False(t, changed, "not the seal the caller read")
			changed, err = st.ResealAssistantPrompt(ctx, "t2", "a", []byte{2, 0, 1, 7}, []byte{1, 5})
			require.NoError(t, err)
			require.False(t, changed, "another tenant")
			changed, err = st.ResealAssistantPrompt(ctx, "t1", "a", []byte{2, 0, 1, 7}, []byte{1, 5})
			require.NoError(t, err)
			require.True(t, changed)
			got, err := st.Assistant(ctx, "t1", "a")
			require.NoError(t, err)
			require.Equal(t, []byte{1, 5}, got.SealedPrompt)
			require.Empty(t, got.SystemPrompt)
		})
	}
}
