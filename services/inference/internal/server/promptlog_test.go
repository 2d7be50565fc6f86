package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

const promptLogModels = `{
  "models": [{"id": "echo", "upstream": "local"}],
  "tenants": {
    "t-log": {"allowed_models": ["*"], "prompt_logging": true},
    "t-other": {"allowed_models": ["*"], "prompt_logging": true}
  },
  "default": {"allowed_models": ["*"]}
}`

// Prompt logging: off by default, encrypted at rest with the tenant's data
// key, readable only by the tenant's owners/admins, never in plaintext in
// the database or the service's logs.
func TestPromptLogging(t *testing.T) {
	logs := &syncBuffer{}
	srv := servertest.Start(t, servertest.Options{
		Models:   []byte(promptLogModels),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Keyvault: func(*keyvaulttest.Server) {},
	})
	client := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
	ctx := func(p *authv1.Principal, requestID string) context.Context {
		c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		t.Cleanup(cancel)
		return srv.Outgoing(c, t, p, "x-request-id", requestID)
	}
	admin := func(tenant string) *authv1.Principal {
		return principalFor(tenant, "k-"+tenant, func(p *authv1.Principal) { p.Roles = []string{"admin"} })
	}
	const canary = "CANARY-prompt-9f41c2d7"

	_, err := client.ChatCompletion(ctx(admin("t-log"), "req-1"), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", canary+" one", "")})
	require.NoError(t, err)
	st, err := client.StreamChatCompletion(ctx(admin("t-log"), "req-2"), &inferencev1.StreamChatCompletionRequest{Body: chatBody("echo", canary+" two", `,"stream":true`)})
	require.NoError(t, err)
	for {
		if _, err := st.Recv(); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
	}
	// Logging is off for tenants the registry does not turn it on for.
	_, err = client.ChatCompletion(ctx(admin("t-off"), "req-3"), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", canary+" three", "")})
	require.NoError(t, err)

	// The tenant's admin reads its logs back, decrypted, newest first.
	list, err := client.ListPromptLogs(ctx(admin("t-log"), "r"), &inferencev1.ListPromptLogsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetLogs(), 2)
	require.Equal(t, "req-2", list.GetLogs()[0].GetRequestId())
	require.Equal(t, "stream", list.GetLogs()[0].GetEndpoint())
	require.Contains(t, list.GetLogs()[0].GetRequest(), canary+" two")
	require.Contains(t, list.GetLogs()[0].GetResponse(), `"content":"`+canary+` two"`)
	require.Equal(t, "req-1", list.GetLogs()[1].GetRequestId())
	require.Contains(t, list.GetLogs()[1].GetResponse(), canary+" one")
	require.Equal(t, "k-t-log", list.GetLogs()[1].GetKeyId())

	// Paging.
	page, err := client.ListPromptLogs(ctx(admin("t-log"), "r"), &inferencev1.ListPromptLogsRequest{PageSize: 1})
	require.NoError(t, err)
	require.Len(t, page.GetLogs(), 1)
	require.NotEmpty(t, page.GetNextPageToken())
	page, err = client.ListPromptLogs(ctx(admin("t-log"), "r"), &inferencev1.ListPromptLogsRequest{PageSize: 1, PageToken: page.GetNextPageToken()})
	require.NoError(t, err)
	require.Equal(t, "req-1", page.GetLogs()[0].GetRequestId())
	require.Empty(t, page.GetNextPageToken())

	got, err := client.GetPromptLog(ctx(admin("t-log"), "r"), &inferencev1.GetPromptLogRequest{RequestId: "req-1"})
	require.NoError(t, err)
	require.Contains(t, got.GetLog().GetRequest(), canary+" one")

	// Another tenant (with logging on) cannot see them: NotFound, as for
	// an id that does not exist; its list is empty.
	for _, id := range []string{"req-1", "req-nope"} {
		_, err = client.GetPromptLog(ctx(admin("t-other"), "r"), &inferencev1.GetPromptLogRequest{RequestId: id})
		require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	}
	list, err = client.ListPromptLogs(ctx(admin("t-other"), "r"), &inferencev1.ListPromptLogsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetLogs())
	_, err = client.GetPromptLog(ctx(admin("t-off"), "r"), &inferencev1.GetPromptLogRequest{RequestId: "req-3"})
	require.Equal(t, codes.NotFound, status.Code(err))

	// Members (even with usage:read) may not read conversation content.
	_, err = client.ListPromptLogs(ctx(principalFor("t-log", "k2"), "r"), &inferencev1.ListPromptLogsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	// Bad input names the field.
	_, err = client.ListPromptLogs(ctx(admin("t-log"), "r"), &inferencev1.ListPromptLogsRequest{PageSize: 1000})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, err.Error(), "page_size")
	_, err = client.ListPromptLogs(ctx(admin("t-log"), "r"), &inferencev1.ListPromptLogsRequest{PageToken: "x"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	// Storage: the disabled tenant has no rows; one data key per tenant,
	// made once and kept unwrapped in memory.
	n, err := srv.App().Store.CountPromptLogs(t.Context(), "t-off")
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = srv.App().Store.CountPromptLogs(t.Context(), "t-log")
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	require.Equal(t, int64(1), srv.Keyvault.DataKeys())

	// The canary is nowhere in plaintext: not in any database file (WAL
	// included) nor in the service's logs.
	files, err := os.ReadDir(srv.DataDir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(srv.DataDir, f.Name()))
		require.NoError(t, err)
		require.NotContains(t, string(b), "CANARY", f.Name())
	}
	require.False(t, strings.Contains(logs.String(), "CANARY"), "canary in service logs")
}
