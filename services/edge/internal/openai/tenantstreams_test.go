package openai_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/store/redistest"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// TestTenantWideStreamCap (ADR 0111 §3): a tenant's keys together hold at
// most MaxStreamsPerTenant chat streams open, across edges (one shared
// slot store: Redis in HA mode, one process's memory in dev). Keys minted
// from an unlimited key are in no rate pool, so before only each key's own
// cap bound them and a tenant held N × MaxStreamsPerKey streams. The 429
// is the OpenAI-shaped rate_limit_exceeded (param "stream") naming the
// tenant's cap, with Retry-After; a refused stream gives back its key's
// slot; other tenants are unaffected; a tenant's own smaller limit
// (tenant_max_concurrent_streams) narrows the cap, a larger one does not
// lift it.
func TestTenantWideStreamCap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slots func(t *testing.T) (edgeA, edgeB ratelimit.Slots)
	}{
		{"memory", func(*testing.T) (ratelimit.Slots, ratelimit.Slots) {
			m := ratelimit.NewMemorySlots()
			return m, m
		}},
		{"redis", func(t *testing.T) (ratelimit.Slots, ratelimit.Slots) {
			addr := redistest.Start(t)
			mk := func() ratelimit.Slots {
				rdb := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { _ = rdb.Close() })
				return ratelimit.NewRedisSlots(rdb, "rampart:edge:streams:", 0, nil, slog.New(slog.DiscardHandler))
			}
			return mk(), mk()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slotsA, slotsB := tc.slots(t)
			a := newStackOpts(t, openai.Options{Streams: slotsA, MaxStreamsPerKey: 2, MaxStreamsPerTenant: 3})
			b := newStackOpts(t, openai.Options{Streams: slotsB, MaxStreamsPerKey: 2, MaxStreamsPerTenant: 3})
			keys := map[string]*authv1.Principal{
				// Minted from an unlimited key: no rate pools.
				"key-1": {TenantId: "t1", KeyId: "k1"},
				"key-2": {TenantId: "t1", KeyId: "k2"},
				"key-3": {TenantId: "t1", KeyId: "k3"},
				"key-o": {TenantId: "t2", KeyId: "ko"},
				// A tenant whose own limit is smaller, one whose is larger.
				"key-n1": {TenantId: "t3", KeyId: "kn1", Limits: &authv1.Limits{TenantMaxConcurrentStreams: 1}},
				"key-n2": {TenantId: "t3", KeyId: "kn2", Limits: &authv1.Limits{TenantMaxConcurrentStreams: 1}},
				"key-w1": {TenantId: "t4", KeyId: "kw1", Limits: &authv1.Limits{TenantMaxConcurrentStreams: 50}},
				"key-w2": {TenantId: "t4", KeyId: "kw2", Limits: &authv1.Limits{TenantMaxConcurrentStreams: 50}},
			}
			for _, s := range []*stack{a, b} {
				s.Inf.SetScript(holding)
				for bearer, p := range keys {
					s.AddKey(t, bearer, p)
				}
			}
			const stream = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`
			refused := func(s *stack, key string, limit string) {
				t.Helper()
				r := post(t, s, key, "/v1/chat/completions", stream)
				require.Equal(t, http.StatusTooManyRequests, r.status, "%s: %s", key, r.bytes)
				require.Equal(t, "1", r.header.Get("Retry-After"))
				e := requireStreamCapError(t, r.bytes)
				require.Contains(t, e.Error.Message, "this tenant")
				require.Contains(t, e.Error.Message, "at most "+limit+" streaming requests")
			}

			// Three keys of t1, each within its own cap of 2, on two edges.
			defer openStream(t, a, "key-1")()
			second := openStream(t, a, "key-1")
			defer second()
			defer openStream(t, b, "key-2")()
			refused(b, "key-2", "3")
			refused(a, "key-3", "3")
			if m, ok := slotsA.(*ratelimit.MemorySlots); ok {
				require.Equal(t, 1, m.Open("k:k2"), "a refused stream gives back its key's slot")
				require.Zero(t, m.Open("k:k3"))
				require.Equal(t, 3, m.Open("t:t1"))
			}
			// Another tenant streams on; non-streaming calls are not capped.
			r := post(t, b, "key-o", "/v1/chat/completions", stream)
			require.Equal(t, http.StatusOK, r.status, string(r.bytes))
			r = post(t, a, "key-3", "/v1/chat/completions", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`)
			require.Equal(t, http.StatusOK, r.status, string(r.bytes))

			// A stream ending gives the tenant's slot back.
			second()
			require.Eventually(t, func() bool {
				return post(t, b, "key-3", "/v1/chat/completions", stream).status == http.StatusOK
			}, 10*time.Second, 20*time.Millisecond)
			defer openStream(t, b, "key-3")()
			refused(a, "key-2", "3")

			// The tenant's own smaller cap narrows; a larger one does not lift.
			defer openStream(t, a, "key-n1")()
			refused(b, "key-n2", "1")
			defer openStream(t, a, "key-w1")()
			defer openStream(t, a, "key-w1")()
			defer openStream(t, b, "key-w2")()
			refused(b, "key-w2", "3")
		})
	}
}

// TestPlatformTenantStreamCap (ADR 0123 §3): the cap the platform admin
// set on a tenant (principal platform_max_concurrent_streams) replaces the
// edge's MaxStreamsPerTenant for that tenant, also above it; the owners'
// own limit still narrows it, and never lifts it past the platform's; each
// key stays within its own MaxStreamsPerKey. Before, the platform's value
// was ignored and the tenant held to the edge's default.
func TestPlatformTenantStreamCap(t *testing.T) {
	s := newStackOpts(t, openai.Options{Streams: ratelimit.NewMemorySlots(), MaxStreamsPerKey: 2, MaxStreamsPerTenant: 1})
	s.Inf.SetScript(holding)
	for bearer, p := range map[string]*authv1.Principal{
		// The platform raised t1 to 3 (owners' limit the same: the
		// platform's write sets both).
		"key-r1": {TenantId: "t1", KeyId: "kr1", Limits: &authv1.Limits{PlatformMaxConcurrentStreams: 3, TenantMaxConcurrentStreams: 3}},
		"key-r2": {TenantId: "t1", KeyId: "kr2", Limits: &authv1.Limits{PlatformMaxConcurrentStreams: 3, TenantMaxConcurrentStreams: 3}},
		// The platform raised t2 to 5, its owners narrowed it to 2.
		"key-n1": {TenantId: "t2", KeyId: "kn1", Limits: &authv1.Limits{PlatformMaxConcurrentStreams: 5, TenantMaxConcurrentStreams: 2}},
		"key-n2": {TenantId: "t2", KeyId: "kn2", Limits: &authv1.Limits{PlatformMaxConcurrentStreams: 5, TenantMaxConcurrentStreams: 2}},
		// No platform value: the owners' larger limit does not lift.
		"key-o": {TenantId: "t3", KeyId: "ko", Limits: &authv1.Limits{TenantMaxConcurrentStreams: 4}},
	} {
		s.AddKey(t, bearer, p)
	}
	const stream = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`
	refused := func(key, limit, whose string) {
		t.Helper()
		r := post(t, s, key, "/v1/chat/completions", stream)
		require.Equal(t, http.StatusTooManyRequests, r.status, "%s: %s", key, r.bytes)
		e := requireStreamCapError(t, r.bytes)
		require.Contains(t, e.Error.Message, whose)
		require.Contains(t, e.Error.Message, "at most "+limit+" streaming requests")
	}
	defer openStream(t, s, "key-r1")()
	defer openStream(t, s, "key-r1")()
	refused("key-r1", "2", "this API key") // the key's own cap holds
	defer openStream(t, s, "key-r2")()
	refused("key-r2", "3", "this tenant") // 3 > the edge's 1

	defer openStream(t, s, "key-n1")()
	defer openStream(t, s, "key-n2")()
	refused("key-n2", "2", "this tenant")

	defer openStream(t, s, "key-o")()
	refused("key-o", "1", "this tenant")
}
