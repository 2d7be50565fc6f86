package audit_test

import (
	"testing"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// BenchmarkChainAppendPostgres compares one transaction per audit record
// (the chain sink before ADR 0039) with the group-committed ChainSink, 16
// writers per core on a real PostgreSQL server.
func BenchmarkChainAppendPostgres(b *testing.B) {
	u := pgtest.Start(b)
	if u == "" {
		b.Skip("PostgreSQL not available")
	}
	st, err := store.OpenPostgres(b.Context(), u, pstore.DefaultPoolOptions)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	line := []byte(`{"action":"GetSecretValue","tenant":"t1","result":"ok"}`)
	b.Run("one transaction per record", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.AppendAudit(b.Context(), record(0).Time, "t1", line); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("group commit", func(b *testing.B) {
		sink := audit.NewChainSink(st)
		defer func() { _ = sink.Close() }()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := sink.Write(b.Context(), record(0)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
