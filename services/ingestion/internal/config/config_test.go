package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	pkgconfig "github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/services/ingestion/internal/config"
)

func TestLoadAndValidate(t *testing.T) {
	cfg := config.Default()
	require.NoError(t, pkgconfig.Load(pkgconfig.Prefix("ingestion"), cfg, nil))
	require.Equal(t, 2, cfg.Workers)
	require.Equal(t, 256, cfg.EmbedDims)
	require.False(t, cfg.AllowPrivate, "the SSRF guard is on by default")

	for _, tc := range []struct {
		name  string
		args  []string
		field string
	}{
		{"workers", []string{"-workers", "0"}, "RAMPART_INGESTION_WORKERS (-workers)"},
		{"dims", []string{"-embed-dims", "3"}, "RAMPART_INGESTION_EMBED_DIMS"},
		{"overlap", []string{"-chunk-tokens", "100", "-chunk-overlap", "100"}, "RAMPART_INGESTION_CHUNK_OVERLAP"},
		{"ttl", []string{"-key-ttl", "10ms"}, "RAMPART_INGESTION_KEY_TTL"},
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
}
