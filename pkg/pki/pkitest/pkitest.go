package pkitest

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/pki"
)

// TTL is the validity of everything pkitest issues: long enough for any
// test, short enough that a leaked file is useless.
const TTL = time.Hour

// New creates a CA and saves ca.crt and ca.key into dir.
func New(t testing.TB, dir string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("Rampart Test CA", TTL)
	require.NoError(t, err)
	require.NoError(t, ca.Save(dir))
	return ca
}

// NewDir creates a temporary directory holding a new CA and the certificate
// of each named service (see Service). It returns the directory and the CA.
func NewDir(t testing.TB, services ...string) (string, *pki.CA) {
	t.Helper()
	dir := t.TempDir()
	ca := New(t, dir)
	for _, name := range services {
		Service(t, ca, dir, name)
	}
	return dir, ca
}

// Service writes <name>.crt and <name>.key for spiffe://rampart.local/svc/<name>
// into dir.
func Service(t testing.TB, ca *pki.CA, dir, name string) {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueService(name, TTL)
	require.NoError(t, err)
	require.NoError(t, pki.WriteFiles(dir, name, certPEM, keyPEM))
}

// Issue writes <name>.crt and <name>.key for an arbitrary SPIFFE ID into dir,
// with loopback SANs.
func Issue(t testing.TB, ca *pki.CA, dir, name, spiffeID string) {
	t.Helper()
	now := time.Now()
	IssueBetween(t, ca, dir, name, spiffeID, now.Add(-time.Minute), now.Add(TTL))
}

// IssueExpired writes <name>.crt and <name>.key for spiffeID that expired an
// hour ago.
func IssueExpired(t testing.TB, ca *pki.CA, dir, name, spiffeID string) {
	t.Helper()
	now := time.Now()
	IssueBetween(t, ca, dir, name, spiffeID, now.Add(-2*time.Hour), now.Add(-time.Hour))
}

// IssueBetween writes <name>.crt and <name>.key for spiffeID with the given
// validity window into dir.
func IssueBetween(t testing.TB, ca *pki.CA, dir, name, spiffeID string, notBefore, notAfter time.Time) {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueBetween(spiffeID, []string{"localhost"},
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, notBefore, notAfter)
	require.NoError(t, err)
	require.NoError(t, pki.WriteFiles(dir, name, certPEM, keyPEM))
}
