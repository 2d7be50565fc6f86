package devenv_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dev.env")
	require.NoError(t, os.WriteFile(p, []byte("# written by rampart dev\nRAMPART_URL=http://127.0.0.1:8080\n\nRAMPART_URLS=http://a,http://b\nRAMPART_KEY=rk_x=y\n"), 0o600))
	env, err := devenv.Read(p)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"RAMPART_URL":  "http://127.0.0.1:8080",
		"RAMPART_URLS": "http://a,http://b",
		"RAMPART_KEY":  "rk_x=y",
	}, env)

	_, err = devenv.Read(filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestCleanDropsRampartSettings(t *testing.T) {
	t.Setenv("RAMPART_URL", "http://elsewhere")
	t.Setenv("KEEP_ME", "1")
	env := devenv.Clean()
	require.Contains(t, env, "KEEP_ME=1")
	for _, kv := range env {
		require.NotContains(t, kv, "RAMPART_URL=")
	}
}
