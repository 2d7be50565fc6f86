package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/config"
)

func TestAuditRetentionNeedsAnArchive(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		err  string
	}{
		{name: "kept forever by default"},
		{name: "retention with an archive", env: map[string]string{
			"RAMPART_KEYVAULT_AUDIT_RETENTION": "2160h", "RAMPART_KEYVAULT_AUDIT_ARCHIVE": "s3://audit/kv"}},
		{name: "retention without an archive", env: map[string]string{"RAMPART_KEYVAULT_AUDIT_RETENTION": "2160h"},
			err: "AUDIT_ARCHIVE"},
		{name: "retention too short", env: map[string]string{
			"RAMPART_KEYVAULT_AUDIT_RETENTION": "10s", "RAMPART_KEYVAULT_AUDIT_ARCHIVE": "/var/archive"}, err: "AUDIT_RETENTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := config.Load(nil) // validates
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

// TestAWSSMNeedsTenantKeysInProd (ADR 0069 §5): with KMS=local, tenants
// have no AWS KMS key of their own, so the awssm backend encrypts their
// secrets under Secrets Manager's account-wide default key, which no
// tenant's crypto-shred deletes. That is refused in the prod profile.
func TestAWSSMNeedsTenantKeysInProd(t *testing.T) {
	for _, tt := range []struct {
		name, profile, kms string
		err                string
	}{
		{"dev, local KMS", "dev", "local", ""},
		{"prod, tenant keys", "prod", "awskms", ""},
		{"prod, local KMS", "prod", "local", "KMS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RAMPART_PROFILE", tt.profile)
			t.Setenv("RAMPART_KEYVAULT_BACKEND", "awssm")
			t.Setenv("RAMPART_KEYVAULT_KMS", tt.kms)
			_, err := config.Load(nil)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
			require.ErrorContains(t, err, "crypto-shred")
		})
	}
}
