package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestAssistantsContract runs the same assistant store contract on SQLite
// and PostgreSQL (a real server started by pgtest).
func TestAssistantsContract(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			ctx := t.Context()
			at := time.Date(2026, 12, 6, 1, 2, 3, 4_000_000, time.UTC)
			kb := store.Assistant{Tenant: "t1", Name: "kb", Model: "gpt-4o", Collections: []string{"handbook", "it"},
				SystemPrompt: "Be brief.", TopK: 6, MinScore: 0.02, Description: "d", Created: at}
			require.NoError(t, st.CreateAssistant(ctx, kb))
			require.ErrorIs(t, st.CreateAssistant(ctx, kb), store.ErrExists)
			other := store.Assistant{Tenant: "t2", Name: "kb", Model: "echo", Created: at}
			require.NoError(t, st.CreateAssistant(ctx, other), "names are per tenant")

			got, err := st.Assistant(ctx, "t1", "kb")
			require.NoError(t, err)
			require.Equal(t, kb, got)
			got, err = st.Assistant(ctx, "t2", "kb")
			require.NoError(t, err)
			require.Equal(t, []string{}, got.Collections)
			_, err = st.Assistant(ctx, "t3", "kb")
			require.ErrorIs(t, err, store.ErrNotFound)

			require.NoError(t, st.CreateAssistant(ctx, store.Assistant{Tenant: "t1", Name: "a-first", Model: "echo", Created: at}))
			list, err := st.Assistants(ctx, "t1")
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, "a-first", list[0].Name)

			require.ErrorIs(t, st.DeleteAssistant(ctx, "t3", "kb"), store.ErrNotFound)
			require.NoError(t, st.DeleteAssistant(ctx, "t1", "kb"))
			_, err = st.Assistant(ctx, "t1", "kb")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = st.Assistant(ctx, "t2", "kb")
			require.NoError(t, err, "another tenant's assistant of the same name is untouched")

			// A sealed prompt is stored as given; a legacy row (plaintext,
			// nothing sealed) is sealed once, and only while it still holds
			// the plaintext the caller read.
			sealedRow := store.Assistant{Tenant: "t1", Name: "sealed", Model: "echo", SealedPrompt: []byte{1, 2, 3}, Created: at}
			require.NoError(t, st.CreateAssistant(ctx, sealedRow))
			got, err = st.Assistant(ctx, "t1", "sealed")
			require.NoError(t, err)
			require.Equal(t, []byte{1, 2, 3}, got.SealedPrompt)
			require.Empty(t, got.SystemPrompt)
			got, err = st.Assistant(ctx, "t1", "a-first")
			require.NoError(t, err)
			require.Nil(t, got.SealedPrompt, "no prompt, nothing sealed")

			legacy := store.Assistant{Tenant: "t1", Name: "legacy", Model: "echo", SystemPrompt: "old plaintext", Created: at}
			require.NoError(t, st.CreateAssistant(ctx, legacy))
			changed, err := st.SealAssistantPrompt(ctx, "t1", "legacy", "stale plaintext", []byte{9})
			require.NoError(t, err)
			require.False(t, changed, "the row no longer holds what the caller read")
			changed, err = st.SealAssistantPrompt(ctx, "t2", "legacy", "old plaintext", []byte{9})
			require.NoError(t, err)
			require.False(t, changed, "another tenant's row")
			changed, err = st.SealAssistantPrompt(ctx, "t1", "legacy", "old plaintext", []byte{7, 7})
			require.NoError(t, err)
			require.True(t, changed)
			got, err = st.Assistant(ctx, "t1", "legacy")
			require.NoError(t, err)
			require.Empty(t, got.SystemPrompt, "no plaintext left in the row")
			require.Equal(t, []byte{7, 7}, got.SealedPrompt)
			changed, err = st.SealAssistantPrompt(ctx, "t1", "legacy", "", []byte{8})
			require.NoError(t, err)
			require.False(t, changed, "a sealed row is never sealed again")
		})
	}
}
