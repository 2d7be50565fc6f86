package pkiops

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// Services are the names that get a service certificate: pkg/config's
// services (docs/conventions.md), so a new service gets one without an
// edit here.
var Services = config.Services()

// CLIName is the certificate the operator CLI uses for internal calls
// (Bootstrap, health checks).
const CLIName = "rampart-cli"

// Options control Init.
type Options struct {
	Dir     string
	CATTL   time.Duration
	CertTTL time.Duration
	// ExtraHosts are DNS names added to every service certificate (e.g. the
	// compose service names when certificates are shared by hostname).
	ExtraHosts []string
	// RenewWithin reissues a certificate expiring sooner than this.
	RenewWithin time.Duration
}

// Result says what Init did.
type Result struct {
	CreatedCA bool
	// ReplacedCA: CreatedCA over an existing CA that had no more than
	// CertTTL left. Every service needs the new ca.crt with its certificate.
	ReplacedCA bool
	Issued     []string
}

// Init makes sure Dir holds a CA and a valid certificate for every service
// and for the CLI. Existing material is kept while it is valid for longer
// than RenewWithin, so running it again is cheap and safe.
func Init(o Options) (Result, error) {
	var res Result
	// The CA is replaced once it has no more than CertTTL left (below), so
	// a certificate as long-lived as the CA would start a new CA on every
	// run: every renewal would then be a CA rotation.
	if o.CertTTL >= o.CATTL {
		return res, fmt.Errorf("certificate lifetime %s must be shorter than the CA's %s: a CA with no more than a certificate's lifetime left is replaced, so every run would create a new CA (e.g. CA 8760h, certificates 720h)", o.CertTTL, o.CATTL)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return res, fmt.Errorf("create pki dir: %w", err)
	}
	ca, err := pki.LoadCA(o.Dir)
	switch {
	case err == nil && time.Until(ca.Certificate().NotAfter) > o.CertTTL:
	case err == nil || errors.Is(err, fs.ErrNotExist):
		// No CA, or one about to expire: start over so nothing is signed by a
		// dying root.
		res.ReplacedCA = err == nil
		if ca, err = pki.NewCA("Rampart Dev CA", o.CATTL); err != nil {
			return res, err
		}
		if err := ca.Save(o.Dir); err != nil {
			return res, err
		}
		res.CreatedCA = true
	default:
		return res, fmt.Errorf("load CA from %s: %w", o.Dir, err)
	}
	names := append(append([]string{}, Services...), CLIName)
	for _, name := range names {
		if !res.CreatedCA && validFor(filepath.Join(o.Dir, name+".crt"), ca.Certificate(), o.RenewWithin) {
			continue
		}
		id := pki.ServiceID(name)
		hosts := append([]string{"localhost", name}, o.ExtraHosts...)
		certPEM, keyPEM, err := ca.Issue(id, hosts, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, o.CertTTL)
		if err != nil {
			return res, fmt.Errorf("issue %s: %w", name, err)
		}
		if err := pki.WriteFiles(o.Dir, name, certPEM, keyPEM); err != nil {
			return res, err
		}
		res.Issued = append(res.Issued, name)
	}
	return res, nil
}

// IssueClient writes <name>.crt/.key in dir for an internal caller's SPIFFE ID.
func IssueClient(dir, name, spiffeID string, ttl time.Duration) error {
	if _, err := pki.ParseID(spiffeID); err != nil {
		return err
	}
	ca, err := pki.LoadCA(dir)
	if err != nil {
		return fmt.Errorf("load CA from %s (run `rampart pki init` first): %w", dir, err)
	}
	certPEM, keyPEM, err := ca.Issue(spiffeID, nil, nil, ttl)
	if err != nil {
		return err
	}
	return pki.WriteFiles(dir, name, certPEM, keyPEM)
}

// validFor reports whether the certificate at path chains to ca and stays
// valid for longer than margin.
func validFor(path string, ca *x509.Certificate, margin time.Duration) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.CheckSignatureFrom(ca) != nil {
		return false
	}
	return time.Until(cert.NotAfter) > margin
}
