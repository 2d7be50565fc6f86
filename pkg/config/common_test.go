package config_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		svc, listen, admin, prefix string
	}{
		{"auth", "127.0.0.1:7001", "127.0.0.1:9001", "RAMPART_AUTH_"},
		{"keyvault", "127.0.0.1:7002", "127.0.0.1:9002", "RAMPART_KEYVAULT_"},
		{"inference", "127.0.0.1:7003", "127.0.0.1:9003", "RAMPART_INFERENCE_"},
		{"ingestion", "127.0.0.1:7004", "127.0.0.1:9004", "RAMPART_INGESTION_"},
		{"slackadapter", "127.0.0.1:7005", "127.0.0.1:9005", "RAMPART_SLACKADAPTER_"},
		{"edge", "127.0.0.1:8080", "127.0.0.1:9006", "RAMPART_EDGE_"},
	}
	require.Len(t, config.Services(), len(tests))
	for i, tt := range tests {
		t.Run(tt.svc, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.svc, config.Services()[i])
			c := config.Defaults(tt.svc)
			require.Equal(t, tt.listen, c.ListenAddr)
			require.Equal(t, tt.admin, c.AdminAddr)
			require.Equal(t, tt.listen, config.DefaultAddr(tt.svc))
			require.Equal(t, tt.prefix, config.Prefix(tt.svc))
			require.Equal(t, "info", c.LogLevel)
			require.Equal(t, config.ProfileDev, c.Profile)

			// Loading with no environment and no flags gives a valid config
			// with the data directories derived from RAMPART_DATA_DIR.
			require.NoError(t, config.LoadWith(config.Prefix(tt.svc), &c, nil, env()))
			require.Equal(t, filepath.Join(".rampart", tt.svc), c.DataDir)
			require.Equal(t, filepath.Join(".rampart", "pki"), c.CertDir)
		})
	}
	require.Empty(t, config.DefaultAddr("nope"))
	require.Error(t, config.Defaults("nope").Validate())
}

// serviceConfig is what a service's internal/config looks like.
type serviceConfig struct {
	config.Common
	AuthAddr string   `env:"RAMPART_AUTH_ADDR,noprefix" flag:"auth-addr" usage:"auth gRPC address"`
	Models   []string `env:"MODELS" flag:"models"`
}

func TestLoadServiceConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		args    []string
		check   func(t *testing.T, c serviceConfig)
		wantErr []string
	}{
		{
			name: "compose-style environment",
			env: []string{
				"RAMPART_INFERENCE_LISTEN_ADDR", "0.0.0.0:7003",
				"RAMPART_INFERENCE_ADMIN_ADDR", "0.0.0.0:9003",
				"RAMPART_INFERENCE_DATA_DIR", "/data",
				"RAMPART_INFERENCE_LOG_LEVEL", "DEBUG",
				"RAMPART_CERT_DIR", "/pki",
				"RAMPART_PROFILE", "prod",
				"RAMPART_AUTH_ADDR", "auth:7001",
				"RAMPART_INFERENCE_MODELS", "echo,rampart-extractive",
			},
			check: func(t *testing.T, c serviceConfig) {
				require.Equal(t, "0.0.0.0:7003", c.ListenAddr)
				require.Equal(t, "0.0.0.0:9003", c.AdminAddr)
				require.Equal(t, "/data", c.DataDir)
				require.Equal(t, "/pki", c.CertDir)
				require.True(t, c.Prod())
				require.Equal(t, slog.LevelDebug, c.SlogLevel())
				require.Equal(t, "auth:7001", c.AuthAddr)
				require.Equal(t, []string{"echo", "rampart-extractive"}, c.Models)
			},
		},
		{
			name: "shared data dir moves the derived dirs",
			env:  []string{"RAMPART_DATA_DIR", "/var/lib/rampart"},
			check: func(t *testing.T, c serviceConfig) {
				require.Equal(t, "/var/lib/rampart/inference", c.DataDir)
				require.Equal(t, "/var/lib/rampart/pki", c.CertDir)
			},
		},
		{
			name: "flags win",
			env:  []string{"RAMPART_INFERENCE_LISTEN_ADDR", "0.0.0.0:7003", "RAMPART_PROFILE", "prod"},
			args: []string{"-listen-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0", "-profile", "dev", "-authz-policy", "p.json"},
			check: func(t *testing.T, c serviceConfig) {
				require.Equal(t, "127.0.0.1:0", c.ListenAddr)
				require.False(t, c.Prod())
				require.Equal(t, "p.json", c.AuthzPolicy)
			},
		},
		{
			name: "every problem reported with its variable and flag",
			env:  []string{"RAMPART_INFERENCE_LISTEN_ADDR", "7003", "RAMPART_PROFILE", "staging"},
			args: []string{"-admin-addr", "localhost:http", "-log-level", "loud"},
			wantErr: []string{
				`RAMPART_INFERENCE_LISTEN_ADDR (-listen-addr): "7003" is not host:port`,
				`RAMPART_INFERENCE_ADMIN_ADDR (-admin-addr): "localhost:http" has an invalid port "http"`,
				`RAMPART_INFERENCE_LOG_LEVEL (-log-level): log level must be debug, info, warn or error, got "loud"`,
				`RAMPART_PROFILE (-profile): must be "dev" or "prod", got "staging"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := serviceConfig{Common: config.Defaults("inference")}
			err := config.LoadWith(config.Prefix("inference"), &c, tt.args, env(tt.env...))
			if tt.wantErr != nil {
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

func TestCommonValidate(t *testing.T) {
	t.Parallel()
	valid := func() config.Common {
		c := config.Defaults("auth")
		c.DataDir, c.CertDir = "/d", "/p"
		return c
	}
	tests := []struct {
		name    string
		mutate  func(c *config.Common)
		wantErr string
	}{
		{name: "defaults", mutate: func(*config.Common) {}},
		{name: "ipv6 and wildcard", mutate: func(c *config.Common) { c.ListenAddr, c.AdminAddr = "[::1]:7001", ":9001" }},
		{name: "port zero twice is fine", mutate: func(c *config.Common) { c.ListenAddr, c.AdminAddr = "127.0.0.1:0", "127.0.0.1:0" }},
		{name: "prod", mutate: func(c *config.Common) { c.Profile = "prod" }},
		{name: "log level any case", mutate: func(c *config.Common) { c.LogLevel = "Warn" }},
		{name: "empty listen", mutate: func(c *config.Common) { c.ListenAddr = "" }, wantErr: "ListenAddr: required"},
		{name: "no port", mutate: func(c *config.Common) { c.ListenAddr = "localhost" }, wantErr: `ListenAddr: "localhost" is not host:port`},
		{name: "port too big", mutate: func(c *config.Common) { c.AdminAddr = "127.0.0.1:65536" }, wantErr: `AdminAddr: "127.0.0.1:65536" has an invalid port`},
		{name: "same addresses", mutate: func(c *config.Common) { c.AdminAddr = c.ListenAddr }, wantErr: "AdminAddr: must differ from the listen address"},
		{name: "bad host", mutate: func(c *config.Common) { c.ListenAddr = "a b:1" }, wantErr: "has an invalid host"},
		{name: "no data dir", mutate: func(c *config.Common) { c.DataDir = "" }, wantErr: "DataDir: required"},
		{name: "no cert dir", mutate: func(c *config.Common) { c.CertDir = "" }, wantErr: "CertDir: required"},
		{name: "bad profile", mutate: func(c *config.Common) { c.Profile = "" }, wantErr: `Profile: must be "dev" or "prod", got ""`},
		{name: "bad level", mutate: func(c *config.Common) { c.LogLevel = "trace" }, wantErr: `LogLevel: log level must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestCheckBackendAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, err string
	}{
		{addr: "127.0.0.1:7001"},
		{addr: "auth.rampart.svc.cluster.local:7001"},
		{addr: "127.0.0.1:7001,127.0.0.1:7011"},
		{addr: "a:1, b:2 ,[::1]:3"},
		{addr: "", err: "required"},
		{addr: "127.0.0.1:7001,", err: "empty element"},
		{addr: "a:1,,b:2", err: "empty element"},
		{addr: "a:1,b", err: `"b" is not host:port`},
		{addr: "a:1,b:99999", err: "invalid port"},
		{addr: "a:x", err: "invalid port"},
	}
	for _, tt := range tests {
		err := config.CheckBackendAddr(tt.addr)
		if tt.err == "" {
			require.NoError(t, err, tt.addr)
		} else {
			require.ErrorContains(t, err, tt.err, tt.addr)
		}
	}
}
