package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ServerTLSConfig returns a TLS 1.3 server configuration that requires a
// client certificate chaining to the current bundle and carrying a valid
// SPIFFE ID. The certificate and bundle are taken from src per handshake, so
// rotations apply to new connections without a restart.
func ServerTLSConfig(src *Source) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientAuth: tls.RequireAndVerifyClientCert,
		// GetConfigForClient is the only hook that can swap ClientCAs per
		// handshake; the outer fields only matter if it were absent.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return &tls.Config{
				MinVersion:       tls.VersionTLS13,
				ClientAuth:       tls.RequireAndVerifyClientCert,
				Certificates:     []tls.Certificate{*src.Certificate()},
				ClientCAs:        src.Bundle(),
				NextProtos:       []string{"h2"},
				VerifyConnection: verifyClientID,
			}, nil
		},
	}
}

// verifyClientID runs after the standard chain verification and rejects
// clients whose certificate is not a valid SPIFFE SVID of our trust domain,
// so every accepted connection has an identity authz can match.
func verifyClientID(cs tls.ConnectionState) error {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return errors.New("mtls: client certificate not verified")
	}
	if _, err := IDFromCert(cs.VerifiedChains[0][0]); err != nil {
		return fmt.Errorf("mtls: client %w", err)
	}
	return nil
}

// ClientTLSConfig returns a TLS 1.3 client configuration presenting src's
// certificate and accepting only a server whose chain verifies against src's
// current bundle and whose URI SAN equals expectedServerID. Hostname
// verification is replaced by that ID check: SPIFFE identities are URIs, and
// the bundle changes at runtime, which RootCAs cannot express.
func ClientTLSConfig(src *Source, expectedServerID string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return src.Certificate(), nil
		},
		// The standard verification is disabled only to be replaced by
		// VerifyConnection below, which checks chain, usage, expiry and ID.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServer(cs, src.Bundle(), expectedServerID)
		},
	}
}

func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, expectedID string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("mtls: server presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return fmt.Errorf("mtls: verify server certificate: %w", err)
	}
	id, err := IDFromCert(leaf)
	if err != nil {
		return fmt.Errorf("mtls: server %w", err)
	}
	if id.String() != expectedID {
		return fmt.Errorf("mtls: server is %s, want %s", id, expectedID)
	}
	return nil
}
