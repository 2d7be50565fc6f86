package devenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestProcStartStop: a started process's output is collected, Stop ends a
// process that waits for SIGINT, and Exited is closed once it is reaped.
func TestProcStartStop(t *testing.T) {
	t.Setenv("RAMPART_URL", "http://elsewhere")
	p, err := Start("sh", "/bin/sh", []string{"EXTRA=1"}, "-c", `echo "up ${RAMPART_URL:-clean} $EXTRA"; trap 'exit 0' INT; while :; do sleep 0.05; done`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Out.String() == "up clean 1\n" }, 10*time.Second, 20*time.Millisecond,
		"the child sees the Clean environment plus env: %q", p.Out.String())
	p.Stop(10 * time.Second)
	select {
	case <-p.Exited:
	default:
		t.Fatal("Exited is not closed after Stop")
	}

	_, err = Start("missing", filepath.Join(t.TempDir(), "no-such-binary"), nil)
	require.ErrorContains(t, err, "start missing")
}

func TestWaitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "addr")
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = os.WriteFile(path, []byte("127.0.0.1:1234\n"), 0o600)
	}()
	got, err := WaitFile(path, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1234", got)

	_, err = WaitFile(filepath.Join(t.TempDir(), "never"), 100*time.Millisecond)
	require.ErrorContains(t, err, "not written within 100ms")
}
