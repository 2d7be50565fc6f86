package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, postgres string
	}{
		{"no placeholders", "SELECT 1", "SELECT 1"},
		{"one", "SELECT * FROM t WHERE id = ?", "SELECT * FROM t WHERE id = $1"},
		{"several", "INSERT INTO t (a, b, c) VALUES (?, ?,?)", "INSERT INTO t (a, b, c) VALUES ($1, $2,$3)"},
		{"ten and more", "?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11"},
		{"string literal", "SELECT '?' , ? FROM t", "SELECT '?' , $1 FROM t"},
		{"escaped quote in literal", "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{"quoted identifier", `SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\nFROM t WHERE y = ?", "SELECT $1 -- why?\nFROM t WHERE y = $2"},
		{"trailing line comment", "SELECT ? -- what?", "SELECT $1 -- what?"},
		{"block comment", "SELECT /* ? */ ? FROM t", "SELECT /* ? */ $1 FROM t"},
		{"unterminated block comment", "SELECT ? /* ?", "SELECT $1 /* ?"},
		{"dollar quoted", "SELECT $$a?b$$, ?", "SELECT $$a?b$$, $1"},
		{"tagged dollar quoted", "SELECT $fn$ ? $fn$, ?", "SELECT $fn$ ? $fn$, $1"},
		{"existing numbered parameter", "SELECT $1, ?", "SELECT $1, $1"},
		{"unterminated literal", "SELECT ?, 'oops?", "SELECT $1, 'oops?"},
		{"minus is not a comment", "SELECT 5 - ? - 1", "SELECT 5 - $1 - 1"},
		{"slash is not a comment", "SELECT ? / 2", "SELECT $1 / 2"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.postgres, store.Postgres.Rebind(tt.in))
			require.Equal(t, tt.in, store.SQLite.Rebind(tt.in), "SQLite keeps ? placeholders")
		})
	}
}

func TestDialect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d           store.Dialect
		name, third string
	}{
		{store.SQLite, "sqlite", "?"},
		{store.Postgres, "postgres", "$3"},
		{store.Dialect(0), "Dialect(0)", "?"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.name, tt.d.String())
		require.Equal(t, tt.third, tt.d.Placeholder(3))
	}
	for dsn, want := range map[string]bool{
		"postgres://u@h/db":   true,
		"postgresql://u@h/db": true,
		"POSTGRES://u@h/db":   true,
		"/var/lib/x.db":       false,
		"x.db":                false,
		"host=h dbname=d":     false,
	} {
		require.Equal(t, want, store.IsPostgresURL(dsn), dsn)
	}
}
