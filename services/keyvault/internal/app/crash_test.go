package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// inheritedListener binds a loopback port here and hands it to the child
// as an inherited descriptor (pkg/listen's fd:N), so no other process can
// take the port between choosing and binding it (a released :0 port was
// once bound by the other replica's admin server first).
func inheritedListener(t *testing.T) (*os.File, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tl, ok := l.(*net.TCPListener)
	require.True(t, ok)
	f, err := tl.File()
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // f is a duplicate: the socket stays bound
	t.Cleanup(func() { _ = f.Close() })
	return f, addr
}

type env struct {
	bin, certDir, dataDir, keysFile string
	signer                          *principal.Signer
}

func (e *env) start(t *testing.T, crashAt string, extraEnv ...string) (*exec.Cmd, string) {
	t.Helper()
	lis, addr := inheritedListener(t)
	admin, _ := inheritedListener(t)
	cmd := exec.Command(e.bin)
	cmd.ExtraFiles = []*os.File{lis, admin} // descriptors 3 and 4
	cmd.Env = append(os.Environ(),
		"RAMPART_CERT_DIR="+e.certDir,
		"RAMPART_DATA_DIR="+filepath.Dir(e.dataDir),
		"RAMPART_KEYVAULT_DATA_DIR="+e.dataDir,
		"RAMPART_KEYVAULT_LISTEN_ADDR="+listen.FD(3),
		"RAMPART_KEYVAULT_ADMIN_ADDR="+listen.FD(4),
		"RAMPART_KEYVAULT_PRINCIPAL_KEYS="+e.keysFile,
		"RAMPART_KEYVAULT_SCHEDULER_INTERVAL=1h",
		"RAMPART_KEYVAULT_TEST_CRASH_AT="+crashAt,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	log, err := os.Create(filepath.Join(t.TempDir(), "keyvault.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	// The child holds its own copies; closing ours means a dead child's
	// port refuses connections instead of queueing them.
	_, _ = lis.Close(), admin.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, addr
}

func (e *env) client(t *testing.T, addr string) (keyvaultv1.SecretsServiceClient, context.Context) {
	t.Helper()
	conn := dial(t, e.certDir, addr, "edge")
	tok, err := e.signer.SignFor(&authv1.Principal{TenantId: "t1", Subject: "admin", KeyId: "k", Roles: []string{"admin"}, Scopes: []string{"secrets:read", "secrets:write"}}, "keyvault", time.Time{})
	require.NoError(t, err)
	return keyvaultv1.NewSecretsServiceClient(conn), principal.AppendToOutgoing(context.Background(), tok)
}

// currentOnDisk reads AWSCURRENT straight from the data dir while the
// process is dead: the committed state a restart will start from.
func currentOnDisk(t *testing.T, dataDir, name string) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dataDir)
	require.NoError(t, err)
	defer st.Close()
	local, err := kms.OpenLocal(dataDir, st)
	require.NoError(t, err)
	env := kms.NewEnvelope(local, st)
	sec, err := st.Read().SecretByName(ctx, "t1", name)
	require.NoError(t, err)
	v, err := st.Read().VersionByStage(ctx, "t1", sec.ID, "AWSCURRENT")
	require.NoError(t, err)
	pt, err := env.Open(ctx, "t1", sec.ID, v.VersionID, v.DEKID, v.Ciphertext)
	require.NoError(t, err)
	return string(pt)
}

// TestRotationCrashResume kills a real keyvault process (SIGKILL from the
// RAMPART_KEYVAULT_TEST_CRASH_AT hook, compiled in only with -tags
// crashhook) at each rotation step, restarts it
// without the hook and checks the rotation completes exactly once, with
// AWSCURRENT readable before, at the crash (on disk) and after.
func TestRotationCrashResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the keyvault binary")
	}
	bin := filepath.Join(t.TempDir(), "keyvault")
	build := exec.Command("go", "build", "-tags", "crashhook", "-o", bin, "../../cmd/keyvault")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		t.Run(step, func(t *testing.T) {
			certDir, _ := pkitest.NewDir(t, "keyvault", "edge")
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			require.NoError(t, err)
			signer, err := principal.NewSigner("crash1", priv, time.Minute)
			require.NoError(t, err)
			keys, err := json.Marshal(map[string]string{"crash1": base64.StdEncoding.EncodeToString(signer.PublicKey())})
			require.NoError(t, err)
			root := t.TempDir()
			e := &env{bin: bin, certDir: certDir, dataDir: filepath.Join(root, "keyvault"), keysFile: filepath.Join(root, "keys.json"), signer: signer}
			require.NoError(t, os.WriteFile(e.keysFile, keys, 0o600))

			const name = "/dev/billing/db-password/primary"
			const token = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
			cmd, addr := e.start(t, step)
			c, ctx := e.client(t, addr)
			_, err = c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "before-rotation"})
			require.NoError(t, err)
			cur, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
			require.NoError(t, err)
			require.Equal(t, "before-rotation", cur.GetSecretString())

			_, err = c.RotateSecret(ctx, &keyvaultv1.RotateSecretRequest{Name: name, ClientRequestToken: token,
				RotationFunction: &keyvaultv1.RotationFunction{Type: keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD}})
			require.Error(t, err, "the process dies during the rotation")
			werr := cmd.Wait()
			var exit *exec.ExitError
			require.ErrorAs(t, werr, &exit)
			ws, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok)
			require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL, got %v", werr)

			// Crash point: AWSCURRENT on disk is still the old value (every
			// hook fires before its step's transaction commits).
			require.Equal(t, "before-rotation", currentOnDisk(t, e.dataDir, name))

			// Restart without the hook: the rotation resumes before serving.
			_, addr = e.start(t, "")
			c, ctx = e.client(t, addr)
			cur, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name})
			require.NoError(t, err)
			require.Equal(t, token, cur.GetVersionId(), "the rotation's version is current")
			require.NotEqual(t, "before-rotation", cur.GetSecretString())
			prev, err := c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: "AWSPREVIOUS"})
			require.NoError(t, err)
			require.Equal(t, "before-rotation", prev.GetSecretString())
			_, err = c.GetSecretValue(ctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionStage: "AWSPENDING"})
			require.Error(t, err, "no version left pending")
			vs, err := c.ListSecretVersionIds(ctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
			require.NoError(t, err)
			require.Len(t, vs.GetVersions(), 2, "the resumed rotation made exactly one new version")
			d, err := c.DescribeSecret(ctx, &keyvaultv1.DescribeSecretRequest{Name: name})
			require.NoError(t, err)
			require.NotNil(t, d.GetSecret().GetLastRotatedAt())
		})
	}
}
