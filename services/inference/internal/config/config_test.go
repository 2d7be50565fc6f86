package config_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/services/inference/internal/config"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c *config.Config)
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{"RAMPART_DATA_DIR": "/d"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "127.0.0.1:7003", c.ListenAddr)
				require.Equal(t, "127.0.0.1:9003", c.AdminAddr)
				require.Equal(t, filepath.Join("/d", "inference", "usage.db"), c.UsageDSN)
				require.Equal(t, c.UsageDSN, c.DatabaseURL)
				require.Empty(t, c.Deprecations())
				require.Equal(t, "127.0.0.1:7001", c.AuthAddr)
				require.Empty(t, c.ModelsFile)
				require.Equal(t, 7*24*time.Hour, c.UsageRawRetention)
				require.Equal(t, 90*24*time.Hour, c.UsageHourlyRetention)
				require.Equal(t, 30*24*time.Hour, c.PromptLogRetention)
				require.Equal(t, 10*time.Minute, c.RetentionInterval)
			},
		},
		{
			name: "retention settings",
			env: map[string]string{"RAMPART_INFERENCE_USAGE_RAW_RETENTION": "48h", "RAMPART_INFERENCE_USAGE_HOURLY_RETENTION": "720h",
				"RAMPART_INFERENCE_PROMPT_LOG_RETENTION": "24h", "RAMPART_INFERENCE_RETENTION_INTERVAL": "1m"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, 48*time.Hour, c.UsageRawRetention)
				require.Equal(t, 720*time.Hour, c.UsageHourlyRetention)
				require.Equal(t, 24*time.Hour, c.PromptLogRetention)
				require.Equal(t, time.Minute, c.RetentionInterval)
			},
		},
		{name: "raw retention under an hour", env: map[string]string{"RAMPART_INFERENCE_USAGE_RAW_RETENTION": "10m"}, wantErr: "USAGE_RAW_RETENTION"},
		{name: "hourly retention not past raw", env: map[string]string{"RAMPART_INFERENCE_USAGE_RAW_RETENTION": "720h", "RAMPART_INFERENCE_USAGE_HOURLY_RETENTION": "720h"}, wantErr: "USAGE_HOURLY_RETENTION"},
		{name: "prompt log retention under an hour", env: map[string]string{"RAMPART_INFERENCE_PROMPT_LOG_RETENTION": "0s"}, wantErr: "PROMPT_LOG_RETENTION"},
		{name: "retention interval out of range", env: map[string]string{"RAMPART_INFERENCE_RETENTION_INTERVAL": "0s"}, wantErr: "RETENTION_INTERVAL"},
		{
			name: "env and flags",
			env:  map[string]string{"RAMPART_INFERENCE_MODELS": "/etc/models.json", "RAMPART_AUTH_ADDR": "auth:7001"},
			args: []string{"-tool-policy", "/etc/tools.json", "-database-url", "postgres://u@db/usage"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "/etc/models.json", c.ModelsFile)
				require.Equal(t, "/etc/tools.json", c.ToolPolicyFile)
				require.Equal(t, "postgres://u@db/usage", c.DatabaseURL)
				require.Equal(t, "postgres://u@db/usage", c.UsageDSN)
				require.Empty(t, c.Deprecations())
				require.Equal(t, "auth:7001", c.AuthAddr)
			},
		},
		{
			name: "database url by its name",
			env:  map[string]string{"RAMPART_INFERENCE_DATABASE_URL": "postgres://u@db/inference"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "postgres://u@db/inference", c.DatabaseURL)
				require.Equal(t, "postgres://u@db/inference", c.UsageDSN, "the store opens what DATABASE_URL says")
				require.Empty(t, c.Deprecations())
			},
		},
		{
			name: "deprecated usage dsn still works, with a warning",
			env:  map[string]string{"RAMPART_INFERENCE_USAGE_DSN": "postgres://u@db/old"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "postgres://u@db/old", c.DatabaseURL)
				require.Equal(t, "postgres://u@db/old", c.UsageDSN)
				require.Len(t, c.Deprecations(), 1)
				require.Contains(t, c.Deprecations()[0], "RAMPART_INFERENCE_USAGE_DSN")
				require.Contains(t, c.Deprecations()[0], "RAMPART_INFERENCE_DATABASE_URL")
			},
		},
		{
			name: "both names: database url wins, the old one is reported",
			env:  map[string]string{"RAMPART_INFERENCE_USAGE_DSN": "postgres://u@db/old", "RAMPART_INFERENCE_DATABASE_URL": "postgres://u@db/new"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "postgres://u@db/new", c.UsageDSN)
				require.Len(t, c.Deprecations(), 1)
				require.Contains(t, c.Deprecations()[0], "ignored")
			},
		},
		{name: "bad auth address", env: map[string]string{"RAMPART_AUTH_ADDR": "nope"}, wantErr: "RAMPART_AUTH_ADDR"},
		{
			name: "keyvault, secrets cache and redis",
			env:  map[string]string{"RAMPART_KEYVAULT_ADDR": "kv:7002", "RAMPART_INFERENCE_SECRETS_CACHE_TTL": "30s", "RAMPART_REDIS_URL": "redis://r:6379/0"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "kv:7002", c.KeyvaultAddr)
				require.Equal(t, 30*time.Second, c.SecretsCacheTTL)
				require.Equal(t, "redis://r:6379/0", c.RedisURL)
			},
		},
		{name: "bad keyvault address", env: map[string]string{"RAMPART_KEYVAULT_ADDR": "nope"}, wantErr: "RAMPART_KEYVAULT_ADDR"},
		{name: "secrets cache ttl out of range", env: map[string]string{"RAMPART_INFERENCE_SECRETS_CACHE_TTL": "2h"}, wantErr: "SECRETS_CACHE_TTL"},
		{name: "bad redis url", env: map[string]string{"RAMPART_REDIS_URL": "http://x"}, wantErr: "RAMPART_REDIS_URL"},
		{
			name: "a Redis Cluster's nodes",
			env:  map[string]string{"RAMPART_REDIS_CLUSTER_URL": "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", c.RedisClusterURL)
				require.True(t, c.RedisCluster())
			},
		},
		{name: "bad cluster url", env: map[string]string{"RAMPART_REDIS_CLUSTER_URL": "http://secret@x"}, wantErr: "RAMPART_REDIS_CLUSTER_URL"},
		{name: "one Redis or a cluster, not both", env: map[string]string{"RAMPART_REDIS_URL": "redis://r:6379", "RAMPART_REDIS_CLUSTER_URL": "redis://r:7000"}, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"RAMPART_DATA_DIR", "RAMPART_INFERENCE_MODELS", "RAMPART_AUTH_ADDR", "RAMPART_CERT_DIR",
				"RAMPART_KEYVAULT_ADDR", "RAMPART_INFERENCE_SECRETS_CACHE_TTL", "RAMPART_REDIS_URL", "RAMPART_REDIS_CLUSTER_URL",
				"RAMPART_INFERENCE_DATABASE_URL", "RAMPART_INFERENCE_USAGE_DSN", "RAMPART_INFERENCE_USAGE_RAW_RETENTION",
				"RAMPART_INFERENCE_USAGE_HOURLY_RETENTION", "RAMPART_INFERENCE_PROMPT_LOG_RETENTION", "RAMPART_INFERENCE_RETENTION_INTERVAL"} {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := config.Load(tt.args)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

// The deprecation warning reaches the start-up log (app.New calls
// WarnDeprecated before opening the store).
func TestWarnDeprecatedLogs(t *testing.T) {
	for _, k := range []string{"RAMPART_INFERENCE_DATABASE_URL", "RAMPART_AUTH_ADDR", "RAMPART_KEYVAULT_ADDR", "RAMPART_REDIS_URL", "RAMPART_REDIS_CLUSTER_URL"} {
		t.Setenv(k, "")
	}
	t.Setenv("RAMPART_INFERENCE_USAGE_DSN", filepath.Join(t.TempDir(), "usage.db"))
	c, err := config.Load(nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	c.WarnDeprecated(slog.New(slog.NewTextHandler(&buf, nil)))
	require.Contains(t, buf.String(), "level=WARN")
	require.Contains(t, buf.String(), "RAMPART_INFERENCE_USAGE_DSN (-usage-dsn) is deprecated: rename it to RAMPART_INFERENCE_DATABASE_URL")

	t.Setenv("RAMPART_INFERENCE_USAGE_DSN", "")
	c, err = config.Load(nil)
	require.NoError(t, err)
	buf.Reset()
	c.WarnDeprecated(slog.New(slog.NewTextHandler(&buf, nil)))
	require.Empty(t, buf.String(), "nothing to warn about")
}

func TestDefaultAuthzPolicyParses(t *testing.T) {
	_, err := authz.ParsePolicy(config.DefaultAuthzPolicy())
	require.NoError(t, err)
}
