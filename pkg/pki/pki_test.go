package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{in: "spiffe://rampart.local/svc/auth"},
		{in: "spiffe://rampart.local/client/billing"},
		{in: "spiffe://other.example/svc/auth", wantErr: true},
		{in: "spiffe://rampart.local", wantErr: true},
		{in: "https://rampart.local/svc/auth", wantErr: true},
		{in: "spiffe://rampart.local/svc/../auth", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := pki.ParseID(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.in, id.String())
		})
	}
}

func TestIssue(t *testing.T) {
	ca, err := pki.NewCA("test", time.Hour)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())

	tests := []struct {
		name    string
		id      string
		ttl     time.Duration
		wantErr bool
	}{
		{name: "service", id: pki.ServiceID("auth"), ttl: time.Minute},
		{name: "client", id: pki.ClientID("billing"), ttl: time.Minute},
		{name: "ttl capped at CA expiry", id: pki.ServiceID("auth"), ttl: 48 * time.Hour},
		{name: "foreign trust domain", id: "spiffe://evil.example/svc/auth", ttl: time.Minute, wantErr: true},
		{name: "not spiffe", id: "auth", ttl: time.Minute, wantErr: true},
		{name: "zero ttl", id: pki.ServiceID("auth"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, err := ca.Issue(tt.id, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, tt.ttl)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			require.NoError(t, err)
			leaf := pair.Leaf
			require.Len(t, leaf.URIs, 1)
			require.Equal(t, tt.id, leaf.URIs[0].String())
			require.Equal(t, "ECDSA", leaf.PublicKeyAlgorithm.String())
			require.ElementsMatch(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
			require.False(t, leaf.NotAfter.After(ca.Certificate().NotAfter))
			_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, DNSName: "localhost"})
			require.NoError(t, err)
		})
	}
}

func TestSaveLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.New(t, dir)

	info, err := os.Stat(filepath.Join(dir, pki.CAKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	info, err = os.Stat(filepath.Join(dir, pki.CACertFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), info.Mode().Perm())

	loaded, err := pki.LoadCA(dir)
	require.NoError(t, err)
	require.True(t, ca.Certificate().Equal(loaded.Certificate()))

	// The loaded CA must be able to sign.
	_, _, err = loaded.IssueService("auth", time.Minute)
	require.NoError(t, err)
}

func TestLoadCAErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{name: "missing", setup: func(*testing.T, string) {}},
		{name: "garbage cert", setup: func(t *testing.T, dir string) {
			pkitest.New(t, dir)
			require.NoError(t, os.WriteFile(filepath.Join(dir, pki.CACertFile), []byte("nope"), 0o644))
		}},
		{name: "key of another CA", setup: func(t *testing.T, dir string) {
			pkitest.New(t, dir)
			other := t.TempDir()
			pkitest.New(t, other)
			key, err := os.ReadFile(filepath.Join(other, pki.CAKeyFile))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, pki.CAKeyFile), key, 0o600)) //nolint:gosec // test temp dir
		}},
		{name: "leaf as CA", setup: func(t *testing.T, dir string) {
			ca := pkitest.New(t, dir)
			pkitest.Service(t, ca, dir, "auth")
			require.NoError(t, os.Rename(filepath.Join(dir, "auth.crt"), filepath.Join(dir, pki.CACertFile)))
			require.NoError(t, os.Rename(filepath.Join(dir, "auth.key"), filepath.Join(dir, pki.CAKeyFile)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := pki.LoadCA(dir)
			require.Error(t, err)
		})
	}
}

func TestWriteFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested")
	require.NoError(t, pki.WriteFiles(dir, "auth", []byte("cert"), []byte("key")))
	require.NoError(t, pki.WriteFiles(dir, "auth", []byte("cert2"), []byte("key2")))

	for file, want := range map[string]struct {
		perm os.FileMode
		data string
	}{
		"auth.crt": {0o644, "cert2"},
		"auth.key": {0o600, "key2"},
	} {
		info, err := os.Stat(filepath.Join(dir, file))
		require.NoError(t, err)
		require.Equal(t, want.perm, info.Mode().Perm(), file)
		data, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		require.Equal(t, want.data, string(data))
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temp files left behind")
}

func TestCAIssuesOnlyItsTrustDomain(t *testing.T) {
	// The CA's URI name constraint means even a certificate signed by it for
	// another trust domain would not verify.
	ca, err := pki.NewCA("test", time.Hour)
	require.NoError(t, err)
	require.Equal(t, []string{pki.TrustDomain}, ca.Certificate().PermittedURIDomains)
}
