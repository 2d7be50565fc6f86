package server_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
)

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

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
	report(b, lat)
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
	report(b, lat)
}
