package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/secrets"
)

// BenchmarkGetSecretValueMTLS: uncached read over mTLS gRPC with principal
// verification, policy, decryption and the audit record written.
func BenchmarkGetSecretValueMTLS(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	c, ctx := h.admin(b, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: `{"password":"hunter2"}`})
	require.NoError(b, err)
	req := &keyvaultv1.GetSecretValueRequest{Name: name}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.GetSecretValue(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	latency.Report(b, "", lat)
}

// BenchmarkGetSecretValueMTLSParallel16 measures throughput at concurrency 16.
func BenchmarkGetSecretValueMTLSParallel16(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	c, ctx := h.admin(b, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: `{"password":"hunter2"}`})
	require.NoError(b, err)
	req := &keyvaultv1.GetSecretValueRequest{Name: name}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N/16 + 1
	for range 16 {
		wg.Go(func() {
			for range per {
				if _, err := c.GetSecretValue(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(per*16)/time.Since(start).Seconds(), "reads/s")
}

// BenchmarkPutSecretValueMTLS: a new version per call (transaction, seal,
// label moves, prune, audit).
func BenchmarkPutSecretValueMTLS(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	c, ctx := h.admin(b, "t1")
	_, err := c.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v0"})
	require.NoError(b, err)
	req := &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "value"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.PutSecretValue(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	latency.Report(b, "", lat)
}

// BenchmarkBareMTLSRoundTrip is the baseline: a gRPC health check over the
// same mTLS 1.3 loopback setup, no principal, no work.
func BenchmarkBareMTLSRoundTrip(b *testing.B) {
	certDir, _ := pkitest.NewDir(b, "keyvault", "edge")
	gs := grpctest.NewMTLSServer(b, certDir, "keyvault")
	healthpb.RegisterHealthServer(gs, health.NewServer())
	addr := grpctest.Serve(b, gs)
	csrc, err := mtls.NewSource(mtls.FilesFor(certDir, "edge"))
	require.NoError(b, err)
	conn, err := mtls.Dial(context.Background(), addr, csrc, pki.ServiceID("keyvault"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = conn.Close() })
	c := healthpb.NewHealthClient(conn)
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	latency.Report(b, "", lat)
}

// BenchmarkGetSecretValueCachedPkgSecrets reads through pkg/secrets' cache
// in front of the real keyvault over mTLS (target ≤ 1 µs).
func BenchmarkGetSecretValueCachedPkgSecrets(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	cl, ctx := h.admin(b, "t1")
	_, err := cl.CreateSecret(ctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: `{"password":"hunter2"}`})
	require.NoError(b, err)
	tok, err := h.signer.Sign(&authv1.Principal{TenantId: "t1", Subject: "svc", Roles: []string{"admin"}}, time.Time{})
	require.NoError(b, err)
	src := secrets.NewKeyvault(h.as(b, "edge").conn, secrets.KeyvaultOptions{Assertion: func(context.Context) (string, error) { return tok, nil }})
	c, err := secrets.NewCache(src, secrets.CacheOptions{})
	require.NoError(b, err)
	_, err = c.GetSecretValue(context.Background(), name, "")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetSecretValue(context.Background(), name, ""); err != nil {
			b.Fatal(err)
		}
	}
}
