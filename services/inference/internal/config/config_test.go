package config_test

import (
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
				require.Equal(t, "127.0.0.1:7001", c.AuthAddr)
				require.Empty(t, c.ModelsFile)
			},
		},
		{
			name: "env and flags",
			env:  map[string]string{"RAMPART_INFERENCE_MODELS": "/etc/models.json", "RAMPART_AUTH_ADDR": "auth:7001"},
			args: []string{"-tool-policy", "/etc/tools.json", "-usage-dsn", "postgres://u@db/usage"},
			check: func(t *testing.T, c *config.Config) {
				require.Equal(t, "/etc/models.json", c.ModelsFile)
				require.Equal(t, "/etc/tools.json", c.ToolPolicyFile)
				require.Equal(t, "postgres://u@db/usage", c.UsageDSN)
				require.Equal(t, "auth:7001", c.AuthAddr)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"RAMPART_DATA_DIR", "RAMPART_INFERENCE_MODELS", "RAMPART_AUTH_ADDR", "RAMPART_CERT_DIR",
				"RAMPART_KEYVAULT_ADDR", "RAMPART_INFERENCE_SECRETS_CACHE_TTL", "RAMPART_REDIS_URL"} {
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

func TestDefaultAuthzPolicyParses(t *testing.T) {
	_, err := authz.ParsePolicy(config.DefaultAuthzPolicy())
	require.NoError(t, err)
}
