package devstack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteToolPolicy(t *testing.T) {
	t.Run("dev policy by default", func(t *testing.T) {
		dir := t.TempDir()
		env, err := writeToolPolicy(dir)
		require.NoError(t, err)
		path := filepath.Join(dir, "dev-tool-policy.json")
		require.Equal(t, []string{toolPolicyEnv + "=" + path}, env)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.JSONEq(t, string(devToolPolicy), string(b))
	})
	t.Run("the caller's policy wins", func(t *testing.T) {
		t.Setenv(toolPolicyEnv, "/etc/mine.json")
		dir := t.TempDir()
		env, err := writeToolPolicy(dir)
		require.NoError(t, err)
		require.Empty(t, env)
		require.NoFileExists(t, filepath.Join(dir, "dev-tool-policy.json"))
	})
}
