package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/services/edge/internal/config"
	"github.com/rampart-platform/rampart/services/edge/internal/wirecheck/wiretest"
)

// With TLS terminated on the edge, HTTP/2 still negotiates and HTTP/1.1 is
// checked for bare LF and folded headers like the plaintext listener.
func TestServeTLSChecksFraming(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "edge")
	auth := authtest.Start(t, dir)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "edge"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	tlsDir := t.TempDir()
	certFile, keyFile := filepath.Join(tlsDir, "tls.crt"), filepath.Join(tlsDir, "tls.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)

	cfg := config.Defaults()
	cfg.CertDir, cfg.DataDir, cfg.AuthAddr = dir, t.TempDir(), auth.Addr
	for _, p := range []*string{&cfg.KeyvaultAddr, &cfg.InferenceAddr, &cfg.IngestionAddr, &cfg.SlackAdapterAddr} {
		*p = config.Disabled
	}
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.KeyCacheTTL, cfg.KeyCacheSize = 30*time.Second, 100
	cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.IdleTimeout = 2*time.Second, 5*time.Second, 5*time.Second
	cfg.RequestTimeout, cfg.StreamTimeout, cfg.ShutdownTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	cfg.DrainDelay = 0
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.AdminAddr = adm.Addr().String()
	require.NoError(t, cfg.Validate())

	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- serveForTest(ctx, cfg, &Listeners{Public: pub, Admin: adm, Ready: ready})
	}()
	addr := <-ready
	defer func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not return")
		}
	}()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + addr + "/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, resp.ProtoMajor, "HTTP/2 is still offered")
	require.Equal(t, "max-age=63072000; includeSubDomains", resp.Header.Get("Strict-Transport-Security"))

	h1 := func(req string) string {
		return wiretest.StatusLine(t, func() (net.Conn, error) {
			return tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		}, req)
	}
	require.Equal(t, "HTTP/1.1 200 OK\r\n", h1("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", h1("GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 400 Bad Request\r\n", h1("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"))
}
