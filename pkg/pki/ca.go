package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// File names of the CA inside a PKI directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// clockSkew backdates NotBefore so a peer whose clock is slightly behind
// still accepts a freshly issued certificate.
const clockSkew = time.Minute

// CA is a certificate authority able to issue workload certificates.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// NewCA creates a self-signed ECDSA P-256 CA valid for ttl.
func NewCA(commonName string, ttl time.Duration) (*CA, error) {
	if ttl <= 0 {
		return nil, errors.New("new CA: ttl must be positive")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new CA: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Rampart"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // leaves only: no intermediates in the dev PKI
		// Name constraints keep a leaked dev CA from vouching for other trust domains.
		PermittedURIDomains: []string{TrustDomain},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new CA: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA: parse certificate: %w", err)
	}
	return &CA{cert: cert, certPEM: encodePEM("CERTIFICATE", der), key: key}, nil
}

// LoadCA reads ca.crt and ca.key from dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", CACertFile, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("load CA: %s is not a CA certificate", CACertFile)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", CAKeyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("load CA: key does not match certificate")
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, nil
}

// Certificate returns the CA certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the PEM-encoded CA certificate (the trust bundle).
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Save writes ca.crt (0644) and ca.key (0600) into dir. (It is not called
// WriteTo because that name belongs to io.WriterTo.)
func (ca *CA) Save(dir string) error {
	keyPEM, err := encodeKey(ca.key)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, CACertFile), ca.certPEM, 0o644)
}

// Issue issues a certificate for spiffeID valid from now for ttl (capped
// at the CA's own expiry) and returns it with its new private key, PEM-encoded.
func (ca *CA) Issue(spiffeID string, dnsNames []string, ips []net.IP, ttl time.Duration) (certPEM, keyPEM []byte, err error) {
	if ttl <= 0 {
		return nil, nil, errors.New("issue: ttl must be positive")
	}
	now := time.Now()
	notAfter := now.Add(ttl)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	return ca.IssueBetween(spiffeID, dnsNames, ips, now.Add(-clockSkew), notAfter)
}

// IssueService issues the certificate of a Rampart service as described in
// docs/conventions.md: URI SAN spiffe://rampart.local/svc/<name>, DNS SANs
// localhost and name, IP SANs 127.0.0.1 and ::1.
func (ca *CA) IssueService(name string, ttl time.Duration) (certPEM, keyPEM []byte, err error) {
	return ca.Issue(ServiceID(name), []string{"localhost", name}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ttl)
}

// IssueBetween is Issue with an explicit validity window. It exists so tests
// can mint not-yet-valid or expired certificates with the same code path.
func (ca *CA) IssueBetween(spiffeID string, dnsNames []string, ips []net.IP, notBefore, notAfter time.Time) (certPEM, keyPEM []byte, err error) {
	id, err := ParseID(spiffeID)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: %w", err)
	}
	if !notAfter.After(notBefore) {
		return nil, nil, errors.New("issue: NotAfter must be after NotBefore")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("issue: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	uri, err := url.Parse(id.String())
	if err != nil {
		return nil, nil, fmt.Errorf("issue: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// SPIFFE ignores the subject; the path makes certificates readable in openssl output.
		Subject:     pkix.Name{CommonName: id.Path(), Organization: []string{"Rampart"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{uri},
		DNSNames:    dnsNames,
		IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %s: %w", id, err)
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodePEM("CERTIFICATE", der), keyPEM, nil
}

func newSerial() (*big.Int, error) {
	// 128 random bits: unique serials without keeping state.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	return serial, nil
}
