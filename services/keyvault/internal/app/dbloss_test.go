package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
)

// cutProxy forwards loopback TCP to PostgreSQL and can cut the link: while
// down it drops every open connection and closes new ones at once, which
// is what a replica sees when the database fails over or the network
// partitions.
type cutProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = l.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
	}
}

// TestPostgresLostMidFlight cuts keyvault's link to PostgreSQL while it
// runs: requests fail with Unavailable (not Internal), the write that
// failed left nothing behind, and once the link is back the same process
// serves again without a restart. The audit log is a file here, so the
// Unavailable comes from the store error mapping itself.
func TestPostgresLostMidFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the keyvault binary")
	}
	pgURL := pgtest.Start(t)
	u, err := url.Parse(pgURL)
	require.NoError(t, err)
	proxy := startCutProxy(t, u.Host)
	u.Host = proxy.l.Addr().String()

	bin := filepath.Join(t.TempDir(), "keyvault")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/keyvault").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	certDir, _ := pkitest.NewDir(t, "keyvault", "edge")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := principal.NewSigner("loss1", priv, time.Minute)
	require.NoError(t, err)
	keys, err := json.Marshal(map[string]string{"loss1": base64.StdEncoding.EncodeToString(signer.PublicKey())})
	require.NoError(t, err)
	root := t.TempDir()
	e := &env{bin: bin, certDir: certDir, dataDir: filepath.Join(root, "keyvault"), keysFile: filepath.Join(root, "keys.json"), signer: signer}
	require.NoError(t, os.WriteFile(e.keysFile, keys, 0o600))
	cmd, addr := e.start(t, "", "RAMPART_KEYVAULT_DATABASE_URL="+u.String(), "RAMPART_KEYVAULT_TENANT_EVENTS=false",
		"RAMPART_KEYVAULT_AUDIT_LOG="+filepath.Join(root, "audit.log"))
	c, ctx := e.client(t, addr)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	const name = "/dev/billing/db-password/loss"
	const tokLost = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	_, err = c.CreateSecret(cctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v1"})
	require.NoError(t, err)

	proxy.setDown(true)
	_, err = c.PutSecretValue(cctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v2", ClientRequestToken: tokLost})
	require.Equal(t, codes.Unavailable, status.Code(err), "write with the database gone: %v", err)
	_, err = c.GetSecretValue(cctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.Equal(t, codes.Unavailable, status.Code(err), "read with the database gone: %v", err)
	require.Nil(t, cmd.ProcessState, "the process keeps running")

	proxy.setDown(false)
	var got *keyvaultv1.GetSecretValueResponse
	require.Eventually(t, func() bool {
		got, err = c.GetSecretValue(cctx, &keyvaultv1.GetSecretValueRequest{Name: name})
		return err == nil
	}, 15*time.Second, 100*time.Millisecond, "recovers without a restart: %v", errors.Join(err))
	require.Equal(t, "v1", got.GetSecretString(), "the failed write left nothing")
	list, err := c.ListSecretVersionIds(cctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
	require.NoError(t, err)
	require.Len(t, list.GetVersions(), 1)

	// The client's retry of the failed write (same token) now succeeds.
	put, err := c.PutSecretValue(cctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "v2", ClientRequestToken: tokLost})
	require.NoError(t, err)
	require.Equal(t, tokLost, put.GetVersionId())
	got, err = c.GetSecretValue(cctx, &keyvaultv1.GetSecretValueRequest{Name: name})
	require.NoError(t, err)
	require.Equal(t, "v2", got.GetSecretString())
}
