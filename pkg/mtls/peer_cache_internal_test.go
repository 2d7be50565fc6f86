package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/rampart-platform/rampart/pkg/pki"
)

func certWithURIs(t *testing.T, raw ...string) *x509.Certificate {
	t.Helper()
	c := &x509.Certificate{}
	for _, r := range raw {
		u, err := url.Parse(r)
		require.NoError(t, err)
		c.URIs = append(c.URIs, u)
	}
	return c
}

// TestPeerIDCache: the cache answers exactly as IDFromCert for good and
// bad certificates, keeps only successes, and never holds more than
// peerIDCacheMax certificates.
func TestPeerIDCache(t *testing.T) {
	td := "spiffe://" + pki.TrustDomain
	tests := []struct {
		name string
		cert *x509.Certificate
		ok   bool
	}{
		{"service", certWithURIs(t, td+"/service/edge"), true},
		{"other trust domain", certWithURIs(t, "spiffe://evil.example/service/edge"), false},
		{"no URI SAN", certWithURIs(t), false},
		{"two URI SANs", certWithURIs(t, td+"/service/edge", td+"/service/auth"), false},
		{"not spiffe", certWithURIs(t, "https://"+pki.TrustDomain+"/service/edge"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &peerIDCache{}
			want, wantErr := IDFromCert(tc.cert)
			for range 2 { // the second answer comes from the cache, if any
				got, err := c.id(tc.cert)
				require.Equal(t, want, got)
				require.Equal(t, wantErr, err)
			}
			require.Equal(t, tc.ok, wantErr == nil)
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.ok], c.len())
		})
	}
	t.Run("bounded", func(t *testing.T) {
		c := &peerIDCache{}
		for i := range 3 * peerIDCacheMax {
			cert := certWithURIs(t, fmt.Sprintf("%s/service/s%d", td, i))
			got, err := c.id(cert)
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("%s/service/s%d", td, i), got.String())
			require.LessOrEqual(t, c.len(), peerIDCacheMax)
			again, err := c.id(cert)
			require.NoError(t, err)
			require.Equal(t, got, again)
		}
	})
}

// BenchmarkPeerID: the caller's SPIFFE ID of a call, as the access log and
// handlers ask for it on every call (cached: the second and later lookups
// of a connection's certificate).
func BenchmarkPeerID(b *testing.B) {
	u, err := url.Parse("spiffe://" + pki.TrustDomain + "/service/edge")
	require.NoError(b, err)
	cert := &x509.Certificate{URIs: []*url.URL{u}}
	ctx := peer.NewContext(b.Context(), &peer.Peer{AuthInfo: credentials.TLSInfo{
		State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PeerID(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
