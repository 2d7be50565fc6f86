package pkiops

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestInitIsIdempotentAndRenews(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, CATTL: 30 * 24 * time.Hour, CertTTL: 24 * time.Hour, RenewWithin: time.Hour}

	res, err := Init(opts)
	require.NoError(t, err)
	require.True(t, res.CreatedCA)
	require.Len(t, res.Issued, len(Services)+1)
	for _, name := range append(Services, CLIName) {
		st, err := os.Stat(filepath.Join(dir, name+".key"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), name)
	}
	st, err := os.Stat(filepath.Join(dir, "ca.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	res, err = Init(opts)
	require.NoError(t, err)
	require.False(t, res.CreatedCA)
	require.Empty(t, res.Issued, "valid certificates are kept")

	// A renewal margin longer than the certificate's life forces reissue.
	opts.RenewWithin = 48 * time.Hour
	res, err = Init(opts)
	require.NoError(t, err)
	require.False(t, res.CreatedCA)
	require.Len(t, res.Issued, len(Services)+1)
}

// TestInitKeepsTheCAUntilItsLastCertificateLifetime: a CA is replaced only
// when it has no more than a certificate's lifetime left; a certificate
// lifetime as long as the CA's (which replaced the CA on every run) is
// refused.
func TestInitKeepsTheCAUntilItsLastCertificateLifetime(t *testing.T) {
	dir := t.TempDir()
	_, err := Init(Options{Dir: dir, CATTL: 720 * time.Hour, CertTTL: 720 * time.Hour, RenewWithin: time.Hour})
	require.ErrorContains(t, err, "must be shorter than the CA's")
	_, statErr := os.Stat(filepath.Join(dir, "ca.crt"))
	require.ErrorIs(t, statErr, os.ErrNotExist, "nothing written")

	opts := Options{Dir: dir, CATTL: 8760 * time.Hour, CertTTL: 720 * time.Hour, RenewWithin: 180 * time.Hour}
	res, err := Init(opts)
	require.NoError(t, err)
	require.True(t, res.CreatedCA)
	require.False(t, res.ReplacedCA, "there was no CA")
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	res, err = Init(opts)
	require.NoError(t, err)
	require.False(t, res.CreatedCA)
	again, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	require.Equal(t, ca, again, "a second run keeps the CA")

	// A CA with less than a certificate's lifetime left is replaced, and
	// Init says it replaced one.
	opts.CATTL, opts.CertTTL = 2*8760*time.Hour, 8760*time.Hour
	res, err = Init(opts)
	require.NoError(t, err)
	require.True(t, res.ReplacedCA)
	require.Len(t, res.Issued, len(Services)+1)
}

func TestIssueClient(t *testing.T) {
	dir := t.TempDir()
	_, err := Init(Options{Dir: dir, CATTL: time.Hour * 48, CertTTL: time.Hour, RenewWithin: time.Minute})
	require.NoError(t, err)

	tests := []struct {
		name    string
		id      string
		wantErr bool
	}{
		{"client id", "spiffe://rampart.local/client/billing", false},
		{"other trust domain", "spiffe://evil.example/client/billing", true},
		{"not a spiffe id", "https://rampart.local/client/billing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := IssueClient(dir, "billing", tt.id, time.Hour)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.FileExists(t, filepath.Join(dir, "billing.crt"))
		})
	}
}
