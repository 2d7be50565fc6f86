package inference

import (
	"testing"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/quota"
)

// BenchmarkNoteTenantLimits is the per-call cost on chat's path of noting
// a principal's tenant limits (unchanged values, one tenant, every
// goroutine at once: the hot case).
func BenchmarkNoteTenantLimits(b *testing.B) {
	s := &Service{now: time.Now, seenCache: newSeenCache()}
	c := &Caller{Tenant: "t_1", Limits: quota.Limits{TenantTPM: 1000, TenantBudget: 5000}, TenantAllowedModels: []string{"echo", "emb"}}
	s.NoteTenantLimits(c)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.NoteTenantLimits(c)
		}
	})
}
