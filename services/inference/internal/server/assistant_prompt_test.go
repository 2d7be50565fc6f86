package server_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestAssistantSystemPromptIsSealed: an assistant's system prompt never
// reaches the database in plaintext (canary scan of the data dir), reads
// back and reaches the upstream in plaintext; a row from before sealing
// (plaintext in system_prompt) is sealed on the tenant's next read; a
// server without keyvault refuses a system prompt rather than store it in
// clear.
func TestAssistantSystemPromptIsSealed(t *testing.T) {
	const canary = "CANARY-asst-prompt-91c3"
	e, fake := ragEnv(t)
	admin := e.ctx(t, adminOf("t1"))
	_, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-sealed", Model: "gpt-fake", SystemPrompt: "You are the helpdesk. " + canary}})
	require.NoError(t, err)

	files, err := filepath.Glob(filepath.Join(e.srv.DataDir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(canary)), "plaintext system prompt in %s", f)
	}

	got, err := e.client.GetAssistant(admin, &inferencev1.GetAssistantRequest{Name: "kb-sealed"})
	require.NoError(t, err)
	require.Equal(t, "You are the helpdesk. "+canary, got.GetAssistant().GetSystemPrompt())
	list, err := e.client.ListAssistants(admin, &inferencev1.ListAssistantsRequest{})
	require.NoError(t, err)
	require.Equal(t, "You are the helpdesk. "+canary, list.GetAssistants()[0].GetSystemPrompt())
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody("kb-sealed", "hi", "")})
	require.NoError(t, err)
	var up struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
	require.Equal(t, "system", up.Messages[0].Role)
	require.Equal(t, "You are the helpdesk. "+canary, up.Messages[0].Content)

	t.Run("a legacy plaintext row is sealed on the tenant's next read", func(t *testing.T) {
		st, err := store.Open(t.Context(), filepath.Join(e.srv.DataDir, "usage.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		const legacy = "Legacy prompt LEGACY-CANARY-77ab"
		require.NoError(t, st.CreateAssistant(t.Context(), store.Assistant{Tenant: "t1", Name: "kb-legacy", Model: "gpt-fake", SystemPrompt: legacy}))

		got, err := e.client.GetAssistant(admin, &inferencev1.GetAssistantRequest{Name: "kb-legacy"})
		require.NoError(t, err)
		require.Equal(t, legacy, got.GetAssistant().GetSystemPrompt())
		row, err := st.Assistant(t.Context(), "t1", "kb-legacy")
		require.NoError(t, err)
		require.Empty(t, row.SystemPrompt, "the plaintext column is cleared")
		require.NotEmpty(t, row.SealedPrompt)
		require.False(t, bytes.Contains(row.SealedPrompt, []byte("LEGACY-CANARY")))
		got, err = e.client.GetAssistant(admin, &inferencev1.GetAssistantRequest{Name: "kb-legacy"})
		require.NoError(t, err)
		require.Equal(t, legacy, got.GetAssistant().GetSystemPrompt(), "and opens from the sealed column")
	})

	t.Run("no keyvault, no system prompt", func(t *testing.T) {
		plain := newEnv(t)
		_, err := plain.client.CreateAssistant(plain.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
			Name: "kb", Model: "echo", SystemPrompt: "kept in clear?"}})
		require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
		_, err = plain.client.CreateAssistant(plain.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
			Name: "kb", Model: "echo"}})
		require.NoError(t, err, "an assistant without a system prompt needs no key")
	})
}
