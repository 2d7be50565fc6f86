package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/stretchr/testify/require"
)

// TestAWSConfigOnlyWhenConfigured: keyvault loads the AWS SDK's
// configuration (and builds a client on it) only when the backend or the
// KMS is AWS; the default embedded store with local keys builds nothing of
// the SDK (ADR 0087: an idle service should not hold what it does not use).
func TestAWSConfigOnlyWhenConfigured(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never reach for an instance role
	tests := []struct {
		name         string
		backend, kms string
		wantLoads    int
	}{
		{"embedded store, local keys (the default)", "sql", "local", 0},
		{"embedded store, AWS KMS", "sql", "awskms", 1},
		{"Secrets Manager, local keys", "awssm", "local", 1},
		{"Secrets Manager, AWS KMS", "awssm", "awskms", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loads := 0
			orig := loadDefaultAWSConfig
			t.Cleanup(func() { loadDefaultAWSConfig = orig })
			loadDefaultAWSConfig = func(ctx context.Context, opts ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
				loads++
				return orig(ctx, opts...)
			}
			cfg := testConfig(t, "")
			cfg.Backend, cfg.KMS, cfg.AWSRegion = tt.backend, tt.kms, "eu-west-1"
			st, err := openStore(t.Context(), cfg, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			_, provider, err := openKMS(t.Context(), cfg, st)
			require.NoError(t, err)
			require.NotNil(t, provider)
			require.Equal(t, tt.wantLoads, loads)
		})
	}
}
