package platform_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
)

// forgotten records what the watcher told the adapter to drop.
type forgotten struct {
	mu    sync.Mutex
	calls []string
}

func (f *forgotten) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}
func (f *forgotten) ForgetKey(id string)   { f.add("key " + id) }
func (f *forgotten) ForgetTenant(t string) { f.add("tenant " + t) }
func (f *forgotten) ForgetAll()            { f.add("all") }
func (f *forgotten) last() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return "", 0
	}
	return f.calls[len(f.calls)-1], len(f.calls)
}

// TestRevocationsForget: each kind of auth's revocation stream drops the
// cached assertions it concerns, over the real stream from pkg/authtest;
// a change of a tenant's limits (TENANT_CHANGED, ADR 0072) drops the
// tenant's, like a suspension, so the adapter's next call carries them.
func TestRevocationsForget(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "slackadapter")
	auth := authtest.Start(t, dir)
	src, err := mtls.NewSource(mtls.FilesFor(dir, "slackadapter"))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), auth.Addr, src, pki.ServiceID("auth"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	f := &forgotten{}
	w := platform.NewRevocations(authv1.NewAuthServiceClient(conn), f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, w.Synced, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { s, _ := f.last(); return s == "all" }, 5*time.Second, 5*time.Millisecond,
		"a first subscription drops everything once")

	for _, tt := range []struct {
		kind authv1.RevocationKind
		want string
	}{
		{authv1.RevocationKind_REVOCATION_KIND_KEY_REVOKED, "key k1"},
		{authv1.RevocationKind_REVOCATION_KIND_KEY_EXPIRED, "key k1"},
		{authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED, "key k1"},
		{authv1.RevocationKind_REVOCATION_KIND_TENANT_SUSPENDED, "tenant t1"},
		{authv1.RevocationKind_REVOCATION_KIND_TENANT_CHANGED, "tenant t1"},
	} {
		t.Run(tt.kind.String(), func(t *testing.T) {
			_, before := f.last()
			auth.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: tt.kind, KeyId: "k1", TenantId: "t1"})
			require.Eventually(t, func() bool { _, n := f.last(); return n > before }, 5*time.Second, 5*time.Millisecond)
			got, n := f.last()
			require.Equal(t, before+1, n)
			require.Equal(t, tt.want, got)
		})
	}
}
