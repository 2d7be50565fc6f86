package store

import "database/sql"

// Scanner is what *sql.Row and *sql.Rows have in common, so one scan
// function per table serves single-row lookups and listings alike.
type Scanner interface {
	Scan(dest ...any) error
}

// ScanColumn scans a row of one column into a T (a list of tenant ids,
// say), for CollectRows.
func ScanColumn[T any](sc Scanner) (T, error) {
	var v T
	err := sc.Scan(&v)
	return v, err
}

// CollectRows scans every row with scan and closes rows: the listing loop
// every store would otherwise write again.
func CollectRows[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
