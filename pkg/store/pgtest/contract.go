package pgtest

import (
	"context"
	"testing"

	"github.com/rampart-platform/rampart/pkg/store"
)

// Store is what a service's store contract suite opens on either dialect.
type Store interface {
	Dialect() store.Dialect
	Close() error
}

// Case is one case of a store contract suite. open opens another handle
// (a "replica") on the case's own fresh, empty database.
type Case[S Store] struct {
	Name string
	Run  func(ctx context.Context, t *testing.T, open func(t *testing.T) S)
}

// Openers open a service's store: on SQLite in dir, on PostgreSQL at url.
type Openers[S Store] struct {
	SQLite   func(ctx context.Context, dir string) (S, error)
	Postgres func(ctx context.Context, url string) (S, error)
}

// RunContract runs every case on SQLite and on PostgreSQL, each case on a
// fresh database: a new directory, or a new database (<prefix>_<n>) on one
// server started for the suite and stopped when t ends. Every handle is
// closed when the test that opened it ends and must report the dialect it
// was opened as.
func RunContract[S Store](t *testing.T, prefix string, o Openers[S], cases []Case[S]) {
	t.Run("sqlite", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				dir := t.TempDir()
				c.Run(t.Context(), t, opener(store.SQLite, func(ctx context.Context) (S, error) { return o.SQLite(ctx, dir) }))
			})
		}
	})
	t.Run("postgres", func(t *testing.T) {
		server := Start(t)
		if server == "" {
			t.Skip("PostgreSQL not available")
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				u := FreshDatabase(t, server, prefix)
				c.Run(t.Context(), t, opener(store.Postgres, func(ctx context.Context) (S, error) { return o.Postgres(ctx, u) }))
			})
		}
	})
}

func opener[S Store](want store.Dialect, open func(ctx context.Context) (S, error)) func(t *testing.T) S {
	return func(t *testing.T) S {
		t.Helper()
		s, err := open(t.Context())
		if err != nil {
			t.Fatalf("open the %s store: %v", want, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if got := s.Dialect(); got != want {
			t.Fatalf("opened as %s, the store says %s", want, got)
		}
		return s
	}
}
