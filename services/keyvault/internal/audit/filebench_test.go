package audit

import (
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkFileSink(b *testing.B) {
	r := Record{Time: time.Now().UTC(), Tenant: "t_4567e9cfc820617ed2d4", Caller: "spiffe://rampart.local/svc/edge", Action: "GetSecretValue",
		Name: "/dev/bench/token/one", VersionID: "58725695-d9f4-47d7-88f3-ceb61b308750", Stages: []string{"AWSCURRENT"}, Result: ResultOK}
	for _, par := range []int{1, 16} {
		b.Run(map[int]string{1: "sequential", 16: "16 writers per core"}[par], func(b *testing.B) {
			s, err := OpenFile(filepath.Join(b.TempDir(), "audit.log"), false)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			if par == 1 {
				for b.Loop() {
					_ = s.Write(b.Context(), r)
				}
				return
			}
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = s.Write(b.Context(), r)
				}
			})
		})
	}
}
