package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
)

func TestLoadAndValidate(t *testing.T) {
	cfg := config.Default()
	require.NoError(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), cfg, nil))
	require.Equal(t, 2, cfg.Workers)
	require.Equal(t, 768, cfg.EmbedDims)
	require.False(t, cfg.AllowPrivate, "the SSRF guard is on by default")
	require.Empty(t, cfg.DatabaseURL, "SQLite in the data dir by default")
	require.Equal(t, 2*time.Minute, cfg.JobLease)

	ok := config.Default()
	require.NoError(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), ok, []string{"-database-url", "postgres://u:pw@db:5432/ingestion?sslmode=verify-full"}))
	err := pkgconfig.Load(pkgconfig.Prefix("ingestion"), config.Default(), []string{"-database-url", "host=db password=hunter2"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2", "a refused URL is never echoed")

	for _, tc := range []struct {
		name  string
		args  []string
		field string
	}{
		{"workers", []string{"-workers", "0"}, "RAMPART_INGESTION_WORKERS (-workers)"},
		{"dims", []string{"-embed-dims", "3"}, "RAMPART_INGESTION_EMBED_DIMS"},
		{"overlap", []string{"-chunk-tokens", "100", "-chunk-overlap", "100"}, "RAMPART_INGESTION_CHUNK_OVERLAP"},
		{"ttl", []string{"-key-ttl", "10ms"}, "RAMPART_INGESTION_KEY_TTL"},
		{"key=value DSN refused", []string{"-database-url", "host=db password=hunter2"}, "RAMPART_INGESTION_DATABASE_URL"},
		{"file path refused", []string{"-database-url", "/var/lib/ingestion.db"}, "RAMPART_INGESTION_DATABASE_URL"},
		{"no connections", []string{"-db-max-conns", "0"}, "RAMPART_INGESTION_DB_MAX_CONNS"},
		{"tiny statement timeout", []string{"-db-statement-timeout", "1ms"}, "RAMPART_INGESTION_DB_STATEMENT_TIMEOUT"},
		{"tiny lease", []string{"-job-lease", "1s"}, "RAMPART_INGESTION_JOB_LEASE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pkgconfig.Load(pkgconfig.Prefix("ingestion"), config.Default(), tc.args)
			require.ErrorContains(t, err, tc.field)
		})
	}
	t.Setenv("RAMPART_INGESTION_FETCH_ALLOW_PRIVATE", "true")
	cfg = config.Default()
	require.NoError(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), cfg, nil))
	require.True(t, cfg.AllowPrivate)

	// The SSRF guard cannot be switched off in production.
	t.Setenv("RAMPART_PROFILE", "prod")
	err = pkgconfig.Load(pkgconfig.Prefix("ingestion"), config.Default(), nil)
	require.ErrorContains(t, err, "RAMPART_INGESTION_FETCH_ALLOW_PRIVATE")
	require.ErrorContains(t, err, "prod profile")
	t.Setenv("RAMPART_INGESTION_FETCH_ALLOW_PRIVATE", "false")
	require.NoError(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), config.Default(), nil))
	require.ErrorContains(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), config.Default(), []string{"-crawl-max-pages", "1001"}), "RAMPART_INGESTION_CRAWL_MAX_PAGES")
}
