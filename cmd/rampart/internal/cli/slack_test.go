package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

// fakeSlackAdapter records ConfigureApp calls and the mTLS peer making them.
type fakeSlackAdapter struct {
	slackadapterv1.UnimplementedSlackAdapterServiceServer
	mu    sync.Mutex
	req   *slackadapterv1.ConfigureAppRequest
	peers []string
}

func (f *fakeSlackAdapter) ConfigureApp(ctx context.Context, r *slackadapterv1.ConfigureAppRequest) (*slackadapterv1.ConfigureAppResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.req, f.peers = r, append(f.peers, id.String())
	return &slackadapterv1.ConfigureAppResponse{ClientId: r.GetClientId(), UpdatedAt: 1_800_000_000}, nil
}

func (f *fakeSlackAdapter) GetApp(_ context.Context, _ *slackadapterv1.GetAppRequest) (*slackadapterv1.GetAppResponse, error) {
	return &slackadapterv1.GetAppResponse{ClientId: "123.456", UpdatedAt: 1_800_000_000}, nil
}

func TestSlackAppSetOverMTLS(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "rampart-cli")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "slackadapter"))
	require.NoError(t, err)
	fake := &fakeSlackAdapter{}
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
	slackadapterv1.RegisterSlackAdapterServiceServer(gs, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	secretFile := filepath.Join(t.TempDir(), "signing")
	require.NoError(t, os.WriteFile(secretFile, []byte("signing-from-file\n"), 0o600))
	t.Setenv("SLACK_CLIENT_SECRET", "client-from-env")
	t.Setenv("SLACK_SIGNING_SECRET", "")
	base := []string{"slack", "app", "--cert-dir", dir, "--slackadapter-addr", lis.Addr().String()}
	tests := []struct {
		name                 string
		args                 []string
		stdin                string
		wantClient, wantSign string
		wantErr              string
	}{
		{"env and file", []string{"set", "--client-id", "123.456", "--signing-secret-file", secretFile}, "", "client-from-env", "signing-from-file", ""},
		{"stdin", []string{"set", "--client-id", "123.456", "--signing-secret-file", secretFile, "--client-secret-file", "-"}, "client-from-stdin\n", "client-from-stdin", "signing-from-file", ""},
		{"no signing secret", []string{"set", "--client-id", "123.456"}, "", "", "", "SLACK_SIGNING_SECRET"},
		{"two stdins", []string{"set", "--client-id", "1", "--client-secret-file", "-", "--signing-secret-file", "-"}, "", "", "", "only one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			root := newRoot(&out, &out)
			root.SetIn(strings.NewReader(tt.stdin))
			root.SetArgs(append(append([]string{}, base...), tt.args...))
			err := root.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			fake.mu.Lock()
			defer fake.mu.Unlock()
			require.Equal(t, "123.456", fake.req.GetClientId())
			require.Equal(t, tt.wantClient, fake.req.GetClientSecret())
			require.Equal(t, tt.wantSign, fake.req.GetSigningSecret())
			require.Equal(t, "spiffe://rampart.local/svc/rampart-cli", fake.peers[len(fake.peers)-1])
			require.Contains(t, out.String(), `"client_id": "123.456"`)
			require.NotContains(t, out.String(), tt.wantClient, "secrets are not echoed")
		})
	}

	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), append(append([]string{}, base...), "show"), &out, &out))
	require.Contains(t, out.String(), "2027-01-15")
}

func TestSlackTenantVerbs(t *testing.T) {
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery}
		data, _ := io.ReadAll(r.Body)
		got.body = nil
		if len(data) > 0 {
			require.NoError(t, json.Unmarshal(data, &got.body))
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	tests := []struct {
		args                []string
		method, path, query string
		body                map[string]any
	}{
		{[]string{"slack", "bind", "T1", "--collections", "handbook,faq"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "", "collections": []any{"handbook", "faq"}}},
		{[]string{"slack", "bind", "T1", "--channel", "C42", "--assistant", "kb-support"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "C42", "assistant": "kb-support"}},
		{[]string{"slack", "unbind", "T1", "--channel", "C42"}, "DELETE", "/v1/slack/bindings/T1", "channel_id=C42", nil},
		{[]string{"slack", "bindings", "--team", "T1"}, "GET", "/v1/slack/bindings", "team_id=T1", nil},
		{[]string{"slack", "installations"}, "GET", "/v1/slack/installations", "", nil},
		{[]string{"slack", "install-url"}, "GET", "/v1/slack/install", "", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot(io.Discard, io.Discard)
			root.SetArgs(tt.args)
			require.NoError(t, root.ExecuteContext(context.Background()))
			require.Equal(t, seen{method: tt.method, path: tt.path, query: tt.query, body: tt.body}, got)
		})
	}
	root := newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"slack", "bind", "T1", "--assistant", "a", "--collections", "b"})
	require.Error(t, root.ExecuteContext(context.Background()), "assistant and collections are exclusive")
}
