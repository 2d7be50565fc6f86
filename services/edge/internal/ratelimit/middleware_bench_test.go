package ratelimit_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// BenchmarkMiddleware: one authenticated request through the middleware
// (key and tenant limits; "+pool": and a rate pool, ADR 0076; "+4pools":
// four nested pools, ADR 0086), in memory
// and on a real redis-server.
func BenchmarkMiddleware(b *testing.B) {
	addr := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { _ = rdb.Close() })
	p := &authv1.Principal{KeyId: "AbCdEfGhIjKl", TenantId: "t_0123456789abcdef0123", Limits: &authv1.Limits{RequestsPerMinute: 1 << 30, TenantRequestsPerMinute: 1 << 30}}
	pooled := &authv1.Principal{KeyId: p.GetKeyId(), TenantId: p.GetTenantId(), Limits: p.GetLimits(), RequestsPool: &authv1.RatePool{KeyId: "FiRsTlImItEd", PerMinute: 1 << 30}}
	nested := &authv1.Principal{KeyId: p.GetKeyId(), TenantId: p.GetTenantId(), Limits: p.GetLimits(), RequestsPool: pooled.GetRequestsPool(),
		RequestsPools: []*authv1.RatePool{pooled.GetRequestsPool(), {KeyId: "NeStEd000002", PerMinute: 1 << 29}, {KeyId: "NeStEd000003", PerMinute: 1 << 28}, {KeyId: "NeStEd000004", PerMinute: 1 << 27}}}
	mem, rds := ratelimit.NewMemory(nil), ratelimit.NewRedis(rdb, "bench:", nil, slog.New(slog.DiscardHandler))
	for _, lim := range []struct {
		name string
		l    ratelimit.Limiter
		p    *authv1.Principal
	}{{"memory", mem, p}, {"memory+pool", mem, pooled}, {"memory+4pools", mem, nested}, {"redis", rds, p}, {"redis+pool", rds, pooled}, {"redis+4pools", rds, nested}} {
		b.Run(lim.name, func(b *testing.B) {
			h := ratelimit.Middleware(lim.l, ratelimit.Defaults{}, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			r = r.WithContext(authn.NewContext(r.Context(), lim.p, "assertion"))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
