package pgtest

import (
	"database/sql"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
)

var freshN atomic.Int64

// FreshDatabase creates an empty database named <prefix>_<n> on the server
// behind serverURL (a URL Start returned) and returns its URL. Suites that
// run every case on a new database share one server this way instead of
// starting one per case.
func FreshDatabase(t testing.TB, serverURL, prefix string) string {
	t.Helper()
	if serverURL == "" {
		t.Fatal("pgtest.FreshDatabase: no server URL (call Start first)")
	}
	name := fmt.Sprintf("%s_%d", prefix, freshN.Add(1))
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		t.Fatalf("pgtest.FreshDatabase: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest.FreshDatabase: create %s: %v", name, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("pgtest.FreshDatabase: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
