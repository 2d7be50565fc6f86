package config_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/auth/internal/config"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c config.Config)
	}{
		{name: "defaults", env: map[string]string{"RAMPART_DATA_DIR": "/d"}, check: func(t *testing.T, c config.Config) {
			require.Equal(t, "127.0.0.1:7001", c.ListenAddr)
			require.Equal(t, "127.0.0.1:9001", c.AdminAddr)
			require.Equal(t, filepath.Join("/d", "auth"), c.DataDir)
			require.Equal(t, filepath.Join("/d", "auth", "signing-kek"), c.SigningKEKFile)
			require.Equal(t, 90*24*time.Hour, c.KeyDefaultTTL)
			require.Equal(t, 14*24*time.Hour, c.RotationOverlap)
			require.Empty(t, c.DatabaseURL)
		}},
		{name: "postgres url and flags win", args: []string{"-key-max-ttl=48h", "-key-default-ttl=24h"},
			env: map[string]string{"RAMPART_AUTH_DATABASE_URL": "postgres://u@h/db", "RAMPART_AUTH_KEY_MAX_TTL": "1h"},
			check: func(t *testing.T, c config.Config) {
				require.Equal(t, 48*time.Hour, c.KeyMaxTTL)
				require.Equal(t, "postgres://u@h/db", c.DatabaseURL)
			}},
		//nolint:gosec // fixture: checks the password is never echoed
		{name: "non-postgres url", env: map[string]string{"RAMPART_AUTH_DATABASE_URL": "mysql://u:hunter2@h/db"}, wantErr: "RAMPART_AUTH_DATABASE_URL"},
		{name: "default over max", args: []string{"-key-default-ttl=400h", "-key-max-ttl=100h"}, wantErr: "RAMPART_AUTH_KEY_DEFAULT_TTL"},
		{name: "slow sweep", args: []string{"-sweep-interval=5s"}, wantErr: "at most 1s"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadWith(tt.args, tt.env)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), "hunter2", "the database URL is never echoed")
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}
