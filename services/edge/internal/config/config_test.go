package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/config"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, c config.Config)
		wantErr []string
	}{
		{name: "defaults", check: func(t *testing.T, c config.Config) {
			require.Equal(t, "127.0.0.1:8080", c.HTTPAddr)
			require.Equal(t, "127.0.0.1:9006", c.AdminAddr)
			require.Equal(t, "127.0.0.1:7001", c.AuthAddr)
			require.Equal(t, 30*time.Second, c.KeyCacheTTL)
			require.InDelta(t, 1.0, c.AccessLogSample, 1e-9, "every access log line by default")
		}},
		{name: "RAMPART_HTTP_ADDR wins", env: map[string]string{"RAMPART_HTTP_ADDR": "127.0.0.1:18080", "RAMPART_EDGE_LISTEN_ADDR": "127.0.0.1:1"},
			check: func(t *testing.T, c config.Config) { require.Equal(t, "127.0.0.1:18080", c.HTTPAddr) }},
		{name: "flag wins over env", env: map[string]string{"RAMPART_AUTH_ADDR": "127.0.0.1:1"}, args: []string{"-auth-addr", "127.0.0.1:2"},
			check: func(t *testing.T, c config.Config) { require.Equal(t, "127.0.0.1:2", c.AuthAddr) }},
		{name: "optional backend off", env: map[string]string{"RAMPART_KEYVAULT_ADDR": "off"},
			check: func(t *testing.T, c config.Config) { require.False(t, config.Enabled(c.KeyvaultAddr)) }},
		{name: "replicas as a comma list", env: map[string]string{"RAMPART_KEYVAULT_ADDR": "127.0.0.1:7002,127.0.0.1:7012"},
			check: func(t *testing.T, c config.Config) { require.Equal(t, "127.0.0.1:7002,127.0.0.1:7012", c.KeyvaultAddr) }},
		{name: "access log sampling", env: map[string]string{"RAMPART_EDGE_ACCESS_LOG_SAMPLE": "0.1", "RAMPART_EDGE_ACCESS_LOG_ROUTES": "/v1/chat=0.01,/healthz=0"},
			check: func(t *testing.T, c config.Config) {
				require.InDelta(t, 0.1, c.AccessLogSample, 1e-9)
				_, err := c.AccessLogSampling()
				require.NoError(t, err)
			}},
		{name: "bad access log sampling", env: map[string]string{"RAMPART_EDGE_ACCESS_LOG_SAMPLE": "1.5"}, wantErr: []string{"ACCESS_LOG_SAMPLE"}},
		{name: "bad access log route", env: map[string]string{"RAMPART_EDGE_ACCESS_LOG_ROUTES": "/v1/chat"}, wantErr: []string{"route=rate"}},
		{name: "bad replica list", env: map[string]string{"RAMPART_INFERENCE_ADDR": "127.0.0.1:7003,"}, wantErr: []string{"RAMPART_INFERENCE_ADDR", "empty element"}},
		{name: "a Redis Cluster's nodes", env: map[string]string{"RAMPART_REDIS_CLUSTER_URL": "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, "redis://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", c.RedisClusterURL)
			}},
		{name: "bad cluster URL", env: map[string]string{"RAMPART_REDIS_CLUSTER_URL": "http://secret@x"}, wantErr: []string{"RAMPART_REDIS_CLUSTER_URL", "addr=host2:port"}},
		{name: "one Redis or a cluster, not both", env: map[string]string{"RAMPART_REDIS_URL": "redis://127.0.0.1:6379", "RAMPART_REDIS_CLUSTER_URL": "redis://127.0.0.1:7000"},
			wantErr: []string{"not both"}},
		{name: "every problem at once", env: map[string]string{
			"RAMPART_AUTH_ADDR": "off", "RAMPART_EDGE_KEY_CACHE_TTL": "31s", "RAMPART_EDGE_TLS_CERT": "/x.pem",
			"RAMPART_EDGE_CORS_ORIGINS": "*", "RAMPART_REDIS_URL": "http://x", "RAMPART_EDGE_TRUSTED_PROXIES": "nope",
		}, wantErr: []string{"RAMPART_AUTH_ADDR", "KEY_CACHE_TTL", "TLS_CERT", "CORS_ORIGINS", "RAMPART_REDIS_URL", "TRUSTED_PROXIES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := config.Load(tt.args)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					require.ErrorContains(t, err, w)
				}
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
