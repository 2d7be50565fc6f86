package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// replicaSet is keyvault replicas as a deployment runs them: separate
// processes on one PostgreSQL, sharing the local KMS master key and the
// audit HMAC key through KEY_DIR, trusting one principal signer.
type replicaSet struct {
	dbURL   string
	root    string // the replicas' data dirs are root/kv0, root/kv1, ...
	certDir string // certificates for keyvault and its callers: edge, ingestion, auth
	signer  *principal.Signer
	envs    []*env
	addrs   []string
}

// startReplicas builds keyvault and starts n replicas of it (see
// replicaSet). Tenant events are off: the replicas see each other's
// changes only through the database.
func startReplicas(t *testing.T, n int) *replicaSet {
	t.Helper()
	rs := &replicaSet{dbURL: pgtest.Start(t), root: t.TempDir()}
	bin := filepath.Join(t.TempDir(), "keyvault")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/keyvault").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	rs.certDir, _ = pkitest.NewDir(t, "keyvault", "edge", "ingestion", "auth")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rs.signer, err = principal.NewSigner("rep1", priv, time.Minute)
	require.NoError(t, err)
	keys, err := json.Marshal(map[string]string{"rep1": base64.StdEncoding.EncodeToString(rs.signer.PublicKey())})
	require.NoError(t, err)
	keysFile := filepath.Join(rs.root, "keys.json")
	require.NoError(t, os.WriteFile(keysFile, keys, 0o600))

	// Every replica reads the same key files (on Kubernetes, one Secret).
	shared := filepath.Join(rs.root, "shared")
	require.NoError(t, os.MkdirAll(shared, 0o700))
	_, err = audit.LoadOrCreateKey(shared)
	require.NoError(t, err)
	_, err = kms.OpenLocal(shared, nil)
	require.NoError(t, err)

	for i := range n {
		e := &env{bin: bin, certDir: rs.certDir, dataDir: filepath.Join(rs.root, fmt.Sprintf("kv%d", i)), keysFile: keysFile, signer: rs.signer}
		require.NoError(t, os.MkdirAll(e.dataDir, 0o700))
		_, addr := e.start(t, "", "RAMPART_KEYVAULT_DATABASE_URL="+rs.dbURL, "RAMPART_KEYVAULT_TENANT_EVENTS=false", "RAMPART_KEYVAULT_KEY_DIR="+shared)
		rs.envs = append(rs.envs, e)
		rs.addrs = append(rs.addrs, addr)
	}
	return rs
}

// dial connects to keyvault at addr with the certificate of the service
// as (its SPIFFE ID decides which RPCs the policy allows); closed at the
// test's end.
func dial(t *testing.T, certDir, addr, as string) *grpc.ClientConn {
	t.Helper()
	src, err := mtls.NewSource(mtls.FilesFor(certDir, as))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), addr, src, pki.ServiceID("keyvault"), grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
