package wirecheck_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck"
	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck/wiretest"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge-test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// With TLS terminated on the edge, HTTP/1.1 is checked and HTTP/2 still
// negotiates; a client stuck in its handshake blocks nobody.
func TestTLSListener(t *testing.T) {
	cert, pool := selfSigned(t)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lis := wirecheck.NewTLSListener(raw, cfg, 2*time.Second)
	srv := &http.Server{
		TLSConfig: cfg, ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) }), //nolint:gosec // test server, text/plain
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	addr := raw.Addr().String()

	// A client that opens a connection and never says hello.
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer func() { _ = idle.Close() }()

	// HTTP/2 (ALPN h2) is served as before.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + addr + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "HTTP/2.0", string(body))

	// HTTP/1.1 over TLS is checked.
	h1 := func(req string) string {
		return wiretest.StatusLine(t, func() (net.Conn, error) {
			return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		}, req)
	}
	require.Equal(t, "HTTP/1.1 200 OK\r\n", h1("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", h1("GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", h1("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\n\r\n"))

	require.NoError(t, srv.Close())
	select {
	case err := <-served:
		require.ErrorIs(t, err, http.ErrServerClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}
