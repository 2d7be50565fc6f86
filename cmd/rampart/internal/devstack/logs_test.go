package devstack

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A child that writes more than the size limit leaves a rotated file
// beside the live log instead of one ever-growing file.
func TestChildLogsRotateBySize(t *testing.T) {
	dir := t.TempDir()
	binDir := filepath.Join(dir, "bin")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o700))
	require.NoError(t, os.MkdirAll(binDir, 0o700))
	// 4 MB of output in lines, against a 1 MB limit and two backups.
	script := "#!/bin/sh\ni=0\nwhile [ $i -lt 40 ]; do head -c 100000 /dev/zero | tr '\\0' 'x'; echo; i=$((i+1)); done\n"
	require.NoError(t, os.WriteFile(filepath.Join(binDir, "auth"), []byte(script), 0o700)) //nolint:gosec // G306: an executable test script

	svcs := newServices(1)[:1]
	defer closeSockets(svcs)
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
	s := &supervisor{out: io.Discard, exited: make(chan exitInfo, 1), logMaxMB: 1, logBackups: 2, binDir: binDir, dataDir: dir}
	require.NoError(t, s.start(svcs[0]))
	select {
	case e := <-s.exited:
		require.NoError(t, e.err)
	case <-time.After(30 * time.Second):
		t.Fatal("child did not exit")
	}
	s.wg.Wait()

	logs := filepath.Join(dir, "logs")
	// Lumberjack removes surplus backups in the background.
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(logs)
		return err == nil && len(entries) == 3
	}, 10*time.Second, 20*time.Millisecond, "live log plus two backups")
	entries, err := os.ReadDir(logs)
	require.NoError(t, err)
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		require.LessOrEqual(t, info.Size(), int64(1<<20), e.Name())
		total += info.Size()
	}
	require.Greater(t, total, int64(2_000_000), "the backups hold the recent output")
	require.Less(t, total, int64(3_200_000), "the oldest output was dropped")
}
