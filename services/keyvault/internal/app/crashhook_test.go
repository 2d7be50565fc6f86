package app_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProductionBinaryHasNoCrashHook builds keyvault the way `make build`
// and the images do (no build tags) and checks that the SIGKILL test hook
// is absent: its environment variable is never read, so no configuration
// can make a deployed keyvault kill itself mid-rotation. The tagged build
// must contain it, or this test would prove nothing.
func TestProductionBinaryHasNoCrashHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keyvault binary twice")
	}
	const hook = "RAMPART_KEYVAULT_TEST_CRASH_AT"
	for _, tc := range []struct {
		name string
		tags []string
		want bool
	}{
		{"production", nil, false},
		{"crashhook tag", []string{"-tags", "crashhook"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "keyvault")
			args := append(append([]string{"build"}, tc.tags...), "-o", bin, "../../cmd/keyvault")
			out, err := exec.Command("go", args...).CombinedOutput()
			require.NoError(t, err, "go build: %s", out)
			data, err := os.ReadFile(bin)
			require.NoError(t, err)
			require.Equal(t, tc.want, bytes.Contains(data, []byte(hook)))
		})
	}
}
