package vault

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// BenchmarkGetSecretValue is keyvault's own work per secret read, without
// the gRPC hop: name check, policy, the store's read cache, envelope
// decryption, metrics and the audit record written to a real audit file
// (one write(2) per record, as in `rampart dev`). The REST read of issue 15
// pays this once per request (ADR 0068).
func BenchmarkGetSecretValue(b *testing.B) {
	ctx := b.Context()
	dir := b.TempDir()
	st, err := store.Open(ctx, dir)
	require.NoError(b, err)
	b.Cleanup(func() { _ = st.Close() })
	local, err := kms.OpenLocal(dir, st)
	require.NoError(b, err)
	sink, err := audit.OpenFile(filepath.Join(dir, "audit.log"), false)
	require.NoError(b, err)
	b.Cleanup(func() { _ = sink.Close() })
	svc := New(Options{
		Store: st, Envelope: kms.NewEnvelope(local, st), Hasher: audit.NewHasher([]byte("bench-audit-key")),
		Policy: policy.Default("dev"), Audit: sink, Metrics: NewMetrics(prometheus.NewRegistry()),
	})
	a := Actor{Tenant: "t_bench", Caller: "spiffe://rampart.local/svc/edge", Subject: "admin", KeyID: "key_0123456789abcdef",
		Roles: []string{"admin"}, Scopes: []string{"secrets:read", "secrets:write"}, RequestID: "0123456789abcdef0123456789abcdef"}
	_, err = svc.CreateSecret(ctx, a, CreateInput{Name: "/dev/bench/token/one", Value: &Value{String: "bench-secret-value-0123456789"}})
	require.NoError(b, err)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		// The edge sends the name without its leading slash.
		if _, err := svc.GetSecretValue(ctx, a, "dev/bench/token/one", "", ""); err != nil {
			b.Fatal(err)
		}
	}
	// The machine is shared: CPU time per read (all threads, the write
	// system call included) is the figure to compare, not ns/op.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
