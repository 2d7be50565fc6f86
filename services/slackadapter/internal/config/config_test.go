package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateDatabaseSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		field string // "" = valid
	}{
		{"default SQLite", func(*Config) {}, ""},
		{"postgres URL", func(c *Config) { c.DatabaseURL = "postgres://u:pw@db:5432/slack?sslmode=verify-full" }, ""},
		{"postgresql URL", func(c *Config) { c.DatabaseURL = "postgresql://db/slack" }, ""},
		{"key=value DSN refused", func(c *Config) { c.DatabaseURL = "host=db password=hunter2" }, "DatabaseURL"},
		{"file path refused", func(c *Config) { c.DatabaseURL = "/var/lib/slack.db" }, "DatabaseURL"},
		{"no connections", func(c *Config) { c.DBMaxConns = 0 }, "DBMaxConns"},
		{"tiny statement timeout", func(c *Config) { c.DBStatementTimeout = time.Millisecond }, "DBStatementTimeout"},
		// A signed event verifies while its timestamp is within ±5 minutes,
		// so for up to 10 minutes after it is first seen: a shorter memory of
		// event ids let a captured event be replayed and answered again
		// (security review 2026-12-06 evening).
		{"event ids forgotten inside the signature window", func(c *Config) { c.DedupeTTL = 5 * time.Minute }, "DedupeTTL"},
		{"event ids kept for the signature window", func(c *Config) { c.DedupeTTL = 10 * time.Minute }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.DataDir, c.CertDir = t.TempDir(), t.TempDir()
			tc.edit(c)
			err := c.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.field)
			require.NotContains(t, err.Error(), "hunter2", "the value may hold a password")
		})
	}
}
