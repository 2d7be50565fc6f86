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

// TestValidateSlackAppFromAWS (ADR 0126): the app's settings come three
// together, its secrets only as references (a value in a setting shows in
// ps and the environment, and is never echoed by the error).
func TestValidateSlackAppFromAWS(t *testing.T) {
	const (
		sm  = "{{resolve:secretsmanager:rampart/slack/app:SecretString:client_secret}}"
		ssm = "{{resolve:ssm-secure:/rampart/slack/signing-secret}}"
	)
	all := func(c *Config) { c.SlackClientID, c.SlackClientSecret, c.SlackSigningSecret = "1234.5678", sm, ssm }
	for _, tc := range []struct {
		name  string
		edit  func(c *Config)
		field string // "" = valid
	}{
		{"none: the stored app", func(*Config) {}, ""},
		{"all three", all, ""},
		{"client id as a reference", func(c *Config) { all(c); c.SlackClientID = "{{resolve:ssm:/rampart/slack/client-id}}" }, ""},
		{"signing secret alone", func(c *Config) { c.SlackSigningSecret = ssm }, "SlackClientID"},
		{"no client secret", func(c *Config) { all(c); c.SlackClientSecret = "" }, "SlackClientSecret"},
		{"a value, not a reference", func(c *Config) { all(c); c.SlackSigningSecret = "hunter2-signing" }, "SlackSigningSecret"},
		{"malformed reference", func(c *Config) { all(c); c.SlackClientSecret = "{{resolve:vault:hunter2}}" }, "SlackClientSecret"},
		{"plain ssm parameter for a secret", func(c *Config) { all(c); c.SlackSigningSecret = "{{resolve:ssm:/rampart/slack/signing}}" }, "SlackSigningSecret"},
		{"refresh too often", func(c *Config) { all(c); c.SlackSecretsRefresh = time.Millisecond }, "SlackSecretsRefresh"},
		{"negative overlap", func(c *Config) { all(c); c.SigningSecretOverlap = -time.Second }, "SigningSecretOverlap"},
		{"endpoint not a URL", func(c *Config) { all(c); c.AWSEndpoint = "localhost:4566" }, "AWSEndpoint"},
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
			require.NotContains(t, err.Error(), "hunter2", "a secret setting's value is never echoed")
		})
	}
}
