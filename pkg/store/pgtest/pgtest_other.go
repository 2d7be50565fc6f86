//go:build !unix

package pgtest

import "testing"

// Database is the name of the database Start creates.
const Database = "rampart"

// Start skips the test: pgtest needs a Unix system.
func Start(t testing.TB) string {
	t.Helper()
	t.Skip("pgtest: starting PostgreSQL is supported on Unix systems only")
	return ""
}
