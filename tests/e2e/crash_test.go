package e2e

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashedChildStopsStack kills one service of a stack of its own and
// expects `rampart dev` to report it, stop the others and exit non-zero —
// never to restart it silently.
func TestCrashedChildStopsStack(t *testing.T) {
	s, err := launch()
	require.NoError(t, err)
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
		}
		_ = os.RemoveAll(s.dir)
	})

	pids := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+)\s+pid (\d+)`).FindAllStringSubmatch(s.output.String(), -1) {
		pid, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		pids[m[1]] = pid
	}
	require.Len(t, pids, 6, s.output.String())
	require.NoError(t, syscall.Kill(pids["keyvault"], syscall.SIGKILL))

	select {
	case err := <-s.exited:
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "rampart dev must exit non-zero, got %v", err)
		require.NotZero(t, exitErr.ExitCode())
	case <-time.After(30 * time.Second):
		t.Fatalf("rampart dev did not stop after a child died:\n%s", s.output.String())
	}
	require.Contains(t, s.output.String(), "keyvault exited unexpectedly")
	for name, pid := range pids {
		// Signal 0 probes for existence: every child must be gone.
		require.Error(t, syscall.Kill(pid, 0), "%s (pid %d) still running", name, pid)
	}
}
