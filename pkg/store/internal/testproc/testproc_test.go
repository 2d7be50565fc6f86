package testproc

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that records Skip and Fatalf instead of acting.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skip(args ...any)               { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, _ ...any) { r.failed = format }

func TestMissingSkipsUnlessCI(t *testing.T) {
	for _, tc := range []struct {
		ci           string
		skip, failed bool
	}{
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "true", failed: true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			Missing(r, "install it")
			require.Equal(t, tc.skip, r.skipped == "install it")
			require.Equal(t, tc.failed, r.failed != "")
		})
	}
}

func TestFindDir(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(a, "initdb"), nil, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(b, "initdb"), nil, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(b, "postgres"), nil, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(a, "postgres"), nil, 0o644)) // not executable

	dir, ok := FindDir([]string{"", "/nonexistent", a, b}, "initdb", "postgres")
	require.True(t, ok)
	require.Equal(t, b, dir)
	_, ok = FindDir([]string{a}, "initdb", "postgres")
	require.False(t, ok)
}

func TestVersionedDirs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "13", "16"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, v, "bin"), 0o755))
	}
	got := VersionedDirs(filepath.Join(root, "*", "bin"))
	want := []string{"16", "15", "13", "9.6"}
	for i, w := range want {
		require.Equal(t, filepath.Join(root, w, "bin"), got[i])
	}
}

func TestProcessStop(t *testing.T) {
	t.Parallel()
	p, err := Start(Command("/bin/sh", "-c", "echo started; exec sleep 60"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Output() == "started" }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Stop(syscall.SIGTERM, 5*time.Second))
	<-p.Exited()
	require.Error(t, p.ExitErr())
	require.NoError(t, p.Stop(syscall.SIGTERM, time.Second), "stopping twice is a no-op")

	// A process that ignores the signal is killed after the timeout.
	p, err = Start(Command("/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Output() == "ready" }, 30*time.Second, 10*time.Millisecond)
	require.ErrorContains(t, p.Stop(syscall.SIGTERM, 200*time.Millisecond), "killed")
}

func TestTail(t *testing.T) {
	t.Parallel()
	require.Equal(t, "c\nd", Tail("a\nb\nc\nd\n", 2))
	require.Equal(t, "a", Tail("a", 5))
}
