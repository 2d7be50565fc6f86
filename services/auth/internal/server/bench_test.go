package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"

	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
)

// edgeAudiences are what the edge asks VerifyKey for: one assertion per
// service it routes to (ADR 0083), so a cache miss signs five.
var edgeAudiences = permissions.Default().Audiences(permissions.Edge)

// BenchmarkVerifyKeyDomain is verification in process: parse, SQLite
// lookup, constant-time hash compare, Ed25519 signature.
func BenchmarkVerifyKeyDomain(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		_, err := e.svc.Verify(ctx, e.platformKey, keys.Source{IP: "127.0.0.1"}, edgeAudiences...)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}

// BenchmarkVerifyKeyGRPC is the edge's cache miss: edge → auth over mTLS
// gRPC → SQLite (target p50 ≤ 1 ms).
func BenchmarkVerifyKeyGRPC(b *testing.B) {
	e := newEnv(b)
	client := authv1.NewAuthServiceClient(e.edge)
	ctx := context.Background()
	req := &authv1.VerifyKeyRequest{ApiKey: e.platformKey, Audiences: edgeAudiences}
	_, err := client.VerifyKey(ctx, req)
	require.NoError(b, err)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		_, err := client.VerifyKey(ctx, req)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}

// BenchmarkGetSigningKeysGRPC is the floor for comparison: the same mTLS
// connection and interceptor chain, no database.
func BenchmarkGetSigningKeysGRPC(b *testing.B) {
	e := newEnv(b)
	client := authv1.NewAuthServiceClient(e.edge)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		_, err := client.GetSigningKeys(ctx, &authv1.GetSigningKeysRequest{})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}

// BenchmarkVerifyKeyGRPCParallel measures throughput with concurrent callers.
func BenchmarkVerifyKeyGRPCParallel(b *testing.B) {
	e := newEnv(b)
	client := authv1.NewAuthServiceClient(e.edge)
	req := &authv1.VerifyKeyRequest{ApiKey: e.platformKey, Audiences: edgeAudiences}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.VerifyKey(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRevocationPropagation measures revoke → event received by a
// watching edge.
func BenchmarkRevocationPropagation(b *testing.B) {
	e := newEnv(b)
	_, owner := e.tenant(b, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := e.watchRevocations(ctx, b, 0)
	kc := authv1.NewKeyServiceClient(e.edge)
	octx := e.as(b, owner)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		k, err := kc.CreateKey(octx, &authv1.CreateKeyRequest{Name: "b", Scopes: []string{"chat:write"}})
		require.NoError(b, err)
		b.StartTimer()
		start := time.Now()
		_, err = kc.RevokeKey(octx, &authv1.RevokeKeyRequest{KeyId: k.GetKey().GetKeyId()})
		require.NoError(b, err)
		ev, err := stream.Recv()
		lat = append(lat, time.Since(start))
		require.NoError(b, err)
		require.Equal(b, k.GetKey().GetKeyId(), ev.GetKeyId())
	}
	b.StopTimer()
	latency.Report(b, "", lat)
}
