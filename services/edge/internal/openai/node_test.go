package openai_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// nodeOpenAI is the pinned npm "openai" version (the newest line that runs
// on Node 20; 7.x needs Node 22).
const nodeOpenAI = "openai@6.30.1"

// TestNodeSDK drives the edge with the official Node SDK. It needs node and
// npm (.ci/run installs them); without them it skips, except under CI=true
// where it fails.
func TestNodeSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the Node SDK conformance test")
	}
	node, nerr := exec.LookPath("node")
	npm, perr := exec.LookPath("npm")
	if nerr != nil || perr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node and npm are required in CI (apt-get install nodejs npm)")
		}
		t.Skip("node/npm not installed: skipping the Node SDK conformance test (apt-get install nodejs npm)")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, nodeOpenAI)
	install.Env = append(os.Environ(), "npm_config_update_notifier=false")
	out, err := install.CombinedOutput()
	require.NoError(t, err, "npm install %s: %s", nodeOpenAI, out)
	script, err := os.ReadFile(filepath.Join("testdata", "node", "conformance.mjs"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "conformance.mjs"), script, 0o644)) //nolint:gosec // dir is t.TempDir()

	s := newStack(t)
	s.AddKey(t, "node-key", &authv1.Principal{TenantId: "t1", KeyId: "knode"})
	run := exec.CommandContext(ctx, node, "conformance.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "RAMPART_URL="+s.URL, "RAMPART_KEY=node-key")
	out, err = run.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "node conformance OK")
}
