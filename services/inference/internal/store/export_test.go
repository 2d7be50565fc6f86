package store

import (
	"context"
	"fmt"
)

// DiskBytes is the space the live usage rows take, compacted: on SQLite
// the database file after VACUUM; on PostgreSQL the total relation size
// (heap, indexes, TOAST) of usage_records and usage_rollups after VACUUM
// FULL. A running service does not compact: the space of deleted rows is
// reused by later inserts, so the steady-state size is this plus one
// sweep interval's churn. For the disk-use measurement in
// docs/performance.md.
func DiskBytes(ctx context.Context, s *Store) (int64, error) {
	var n int64
	if s.d.String() == "postgres" {
		if _, err := s.db.ExecContext(ctx, `VACUUM FULL usage_records, usage_rollups`); err != nil {
			return 0, fmt.Errorf("vacuum: %w", err)
		}
		err := s.db.QueryRowContext(ctx, `SELECT pg_total_relation_size('usage_records') + pg_total_relation_size('usage_rollups')`).Scan(&n)
		return n, err
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		return 0, fmt.Errorf("vacuum: %w", err)
	}
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())`).Scan(&n)
	return n, err
}

// PreparedInserts is how many INSERT statements s keeps prepared.
func PreparedInserts(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inserts)
}
