package openai

import (
	"testing"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/ratelimit"
)

// TestStreamSlotsInOneSet (issue 15, ADR 0130): a stream's key and tenant
// slots in the edge's own memory are taken as one set before the first
// byte — no joined "k:"/"t:" strings, one lock, one release — and given
// back by one release; the allocations bound fails on the slot-by-slot
// acquisition (eight per stream).
func TestStreamSlotsInOneSet(t *testing.T) {
	slots := ratelimit.NewMemorySlots()
	h := &Handler{streams: slots, maxStreams: 20, maxTenant: 100}
	p := &authv1.Principal{TenantId: "t1", KeyId: "k1", RequestsPool: &authv1.RatePool{KeyId: "parent", PerMinute: 10}}
	release, _, ok := h.acquireStreams(t.Context(), p, h.tenantStreams(p))
	require.True(t, ok)
	for _, k := range []string{"k:k1", "k:parent", "t:t1"} {
		require.Equal(t, 1, slots.Open(k), k)
	}
	release()
	for _, k := range []string{"k:k1", "k:parent", "t:t1"} {
		require.Zero(t, slots.Open(k), k)
	}

	plain := &authv1.Principal{TenantId: "t1", KeyId: "k1"}
	allocs := testing.AllocsPerRun(200, func() {
		release, _, ok := h.acquireStreams(t.Context(), plain, h.tenantStreams(plain))
		if !ok {
			t.Fatal("refused")
		}
		release()
	})
	require.LessOrEqual(t, allocs, 2.0, "allocations per stream's slots")
}
