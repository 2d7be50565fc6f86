package router_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/backend"
)

// BenchmarkWhoAmI compares GET /v1/whoami through the edge (bearer check
// from the cache, rate limit off, grpc-gateway, mTLS to auth, assertion
// verified by auth's interceptor) with the floor: the same WhoAmI gRPC call
// made directly over mTLS. It reports both p50/p99 and their ratio.
func BenchmarkWhoAmI(b *testing.B) {
	e := newEdge(b, edgeOpts{})
	key := e.auth.AddKey(b, tenantA())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func() {
		req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	floor := newFloor(b)
	for range 50 { // warm up both paths
		get()
		floor()
	}
	edgeLat := make([]time.Duration, 0, b.N)
	floorLat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		get()
		edgeLat = append(edgeLat, time.Since(start))
		start = time.Now()
		floor()
		floorLat = append(floorLat, time.Since(start))
	}
	b.StopTimer()
	ep50, ep99 := latency.Report(b, "edge-", edgeLat)
	fp50, fp99 := latency.Report(b, "floor-", floorLat)
	b.ReportMetric(float64(ep50)/float64(fp50), "p50-ratio")
	b.ReportMetric(float64(ep99)/float64(fp99), "p99-ratio")
}

// newFloor returns a function making one direct WhoAmI call over mTLS to a
// separate in-test auth, carrying a valid assertion.
func newFloor(b *testing.B) func() {
	dir, _ := pkitest.NewDir(b, "auth", "edge")
	auth := authtest.Start(b, dir)
	src, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(b, err)
	set, err := backend.Dial(b.Context(), &pkgbackend.Dialer{TLS: src}, []backend.Target{{Name: "auth", Addr: auth.Addr}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = set.Close() })
	client := authv1.NewAuthServiceClient(set.Conn("auth"))
	resp, err := client.VerifyKey(b.Context(), &authv1.VerifyKeyRequest{ApiKey: auth.AddKey(b, tenantA()), Audiences: []string{"auth"}})
	require.NoError(b, err)
	ctx := metadata.AppendToOutgoingContext(context.Background(), principal.MetadataKey, resp.GetAssertion())
	return func() {
		if _, err := client.WhoAmI(ctx, &authv1.WhoAmIRequest{}); err != nil {
			b.Fatal(err)
		}
	}
}
