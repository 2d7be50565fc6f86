package main

import (
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSmoke runs the whole harness at a tiny size so it cannot rot: it
// builds and starts the real stack, the fake upstream, the proxy and the
// floor on loopback and checks that every row has results and no errors.
// Timings are never asserted (the machine is shared).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole stack")
	}
	res, err := run("../../..", sizes{Requests: 100, Seconds: 1, Rounds: 1, Warmup: 10, Idle: 1}, testWriter())
	require.NoError(t, err)
	for _, target := range []string{"direct", "proxy", "gateway", "rampart", "responses"} {
		s := res.Loadgen.Sequential[target]
		require.Equal(t, 100, s.N, target)
		require.Zero(t, s.Errors, target)
		require.Positive(t, s.P50Us, target)
		for _, c := range []int{16, 64} {
			rps, _, reqs, errs := res.loadMean(target, c)
			require.Positive(t, reqs, "%s c=%d", target, c)
			require.Positive(t, rps, "%s c=%d", target, c)
			require.Zero(t, errs, "%s c=%d", target, c)
		}
	}
	for _, target := range []string{"proxy", "gateway", "rampart", "responses"} {
		_, cpu, _, _ := res.loadMean(target, 64)
		require.Positive(t, cpu, "CPU charged to %s", target)
	}
	require.Len(t, res.Secrets, 3)
	for _, s := range res.Secrets {
		require.Positive(t, s.Sequential.N, s.Name)
		require.Zero(t, s.Errors, s.Name)
	}
	require.Positive(t, res.Secrets[0].Requests16)
	require.Positive(t, res.Secrets[1].Requests16)
	require.Equal(t, []string{"edge", "auth", "keyvault"}, res.Secrets[1].CPUNames, "REST read CPU split")
	require.Len(t, res.Secrets[1].CPUSplit, 3)
	require.Equal(t, []string{"front", "back"}, res.SecretHops.CPUNames, "two-hop floor CPU split")
	require.Positive(t, res.SecretHops.CPUUsPerReq)
	for _, p := range []string{"edge", "inference", "auth", "keyvault"} {
		require.Positive(t, res.RSS[p], p)
	}
	if os.Getenv(vaultEnv) != "" { // the optional baseline (ADR 0131)
		require.Len(t, res.Vault, 2)
		for _, v := range res.Vault {
			require.Positive(t, v.Sequential.N, v.Name)
			require.Positive(t, v.Requests16, v.Name)
			require.Zero(t, v.Errors, v.Name)
			require.Positive(t, v.CPUUsPerReq, "CPU charged to %s", v.Name)
		}
	} else {
		require.Empty(t, res.Vault)
	}
	g := res.GRPCSecret
	require.Positive(t, g.Sequential.N, "gRPC secret reads")
	require.Zero(t, g.Errors, "gRPC secret reads")
	require.Positive(t, res.GRPCRPS[64], "gRPC secret reads at 64")
	require.Equal(t, 100, res.Stream.Direct.N, "streaming direct")
	require.Equal(t, 100, res.Stream.Rampart.N, "streaming through the stack")
	require.Zero(t, res.Stream.Rampart.Errors)
	require.Positive(t, res.Stream.Rampart.P50)
	require.Equal(t, 100, res.Stream.NonStreamDirect.N, "non-streaming direct, same pass")
	require.Equal(t, 100, res.Stream.NonStreamRampart.N, "non-streaming through the stack, same pass")
	require.Zero(t, res.Stream.NonStreamRampart.Errors)
	require.Equal(t, 100, res.Stream.PacedDirect.N, "paced streaming direct, same pass")
	require.Equal(t, 100, res.Stream.PacedRampart.N, "paced streaming through the stack, same pass")
	require.Zero(t, res.Stream.PacedRampart.Errors)
	for _, p := range []string{"edge", "inference", "auth", "keyvault", "ingestion", "slackadapter"} {
		require.Positive(t, res.Idle.RSS[p], "idle RSS of %s", p)
		require.Contains(t, res.Idle.SettleMS, p, "settling CPU of %s", p)
	}
	md := res.markdown()
	require.Contains(t, md, "time to first byte")
	require.Contains(t, md, "non-streaming added p50, same pass")
	require.Contains(t, md, "paced upstream")
	require.Contains(t, md, "idle")
	require.Contains(t, md, "two-hop floor")
	require.Contains(t, md, "/v1/responses")
	require.Contains(t, md, "REST read through the edge")
	t.Log("\n" + md)
}

// testWriter sends the harness's progress to the test log only with -v.
func testWriter() io.Writer {
	if testing.Verbose() {
		return os.Stdout
	}
	return io.Discard
}
