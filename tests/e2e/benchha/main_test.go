package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSmoke runs the whole harness at a tiny size so it cannot rot: both
// stacks, every phase, two kills. It checks that every phase measured
// something without errors; timings are never asserted (the machine is
// shared). `make bench-ha` runs the full size.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts both stacks")
	}
	requireServers(t)
	res, err := run("../../..", sizes{Seconds: 1, Kills: 2, Docs: 4, DownMillis: 500}, testWriter())
	require.NoError(t, err)
	for name, tp := range map[string]throughput{"sqlite": res.SQLite, "ha": res.HA} {
		for op, st := range map[string]loadStats{"read": tp.Read, "write": tp.Write, "chat": tp.Chat} {
			require.Positive(t, st.Requests, "%s %s", name, op)
			require.Zero(t, st.Errors, "%s %s: %s", name, op, st.FirstErr)
			require.Positive(t, st.P50, "%s %s", name, op)
		}
	}
	require.Len(t, res.Kills, 2)
	for _, k := range res.Kills {
		require.GreaterOrEqual(t, k.FirstOK, time.Duration(0), k.Victim)
		require.Positive(t, k.Probes, k.Victim)
	}
	for _, j := range []jobRun{res.JobsSQLite, res.JobsHA2, res.JobsHA1} {
		require.Equal(t, 4, j.Docs)
		require.Positive(t, j.DocsPerS)
	}
	md := res.markdown()
	require.Contains(t, md, "keyvault secret write")
	require.Contains(t, md, "first success p50 / p99")
	require.Contains(t, md, "ingestion-2 killed")
	t.Log("\n" + md)
}

// requireServers skips without PostgreSQL or redis-server, except in CI,
// where .ci/run installs them and a missing one is a failure.
func requireServers(t *testing.T) {
	t.Helper()
	_, redisErr := exec.LookPath("redis-server")
	_, pgErr := exec.LookPath("initdb")
	if pgErr != nil {
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
			pgErr = nil
		}
	}
	if redisErr == nil && pgErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("benchha needs redis-server and PostgreSQL")
	}
	t.Skip("benchha needs redis-server and PostgreSQL: apt-get install redis-server postgresql")
}

// testWriter sends the harness's progress to the test log only with -v.
func testWriter() io.Writer {
	if testing.Verbose() {
		return os.Stdout
	}
	return io.Discard
}
