package mtls

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// Files names the PEM files a Source reads.
type Files struct {
	CertFile string // leaf certificate (may be followed by intermediates)
	KeyFile  string // private key of the leaf
	CAFile   string // trust bundle: one or more CA certificates
}

// FilesFor returns the files of identity name in a Rampart PKI directory:
// <certDir>/<name>.crt, <certDir>/<name>.key and <certDir>/ca.crt.
func FilesFor(certDir, name string) Files {
	return Files{
		CertFile: filepath.Join(certDir, name+".crt"),
		KeyFile:  filepath.Join(certDir, name+".key"),
		CAFile:   filepath.Join(certDir, "ca.crt"),
	}
}

// DefaultCheckInterval bounds how often a handshake may stat the files.
const DefaultCheckInterval = time.Second

// Option configures a Source.
type Option func(*Source)

// WithCheckInterval sets how often, at most, a handshake checks the files for
// changes (default DefaultCheckInterval). Zero checks on every handshake.
func WithCheckInterval(d time.Duration) Option { return func(s *Source) { s.interval = d } }

// WithLogger makes the Source log reloads and failed reload attempts.
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// Source holds the current key pair and trust bundle and reloads them when
// the files' modification time or size changes, so rotated certificates are
// used without a restart. It is safe for concurrent use.
type Source struct {
	files    Files
	interval time.Duration
	log      *slog.Logger

	mu        sync.RWMutex
	cert      *tls.Certificate
	id        spiffeid.ID
	pool      *x509.CertPool
	stamps    [3]stamp
	lastCheck time.Time
}

// stamp identifies a file version cheaply. Files are replaced by rename, so
// mtime and size change together with the content.
type stamp struct {
	mod  time.Time
	size int64
}

// NewSource loads files and returns a Source serving them. The certificate
// must carry exactly one URI SAN holding a valid SPIFFE ID.
func NewSource(files Files, opts ...Option) (*Source, error) {
	s := &Source{files: files, interval: DefaultCheckInterval, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	s.lastCheck = time.Now() // the initial load counts as a check
	return s, nil
}

// ID returns the SPIFFE ID of the current certificate.
func (s *Source) ID() spiffeid.ID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.id
}

// Certificate returns the current key pair, reloading it first if the files
// changed and the check interval has passed.
func (s *Source) Certificate() *tls.Certificate {
	s.maybeReload()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cert
}

// Bundle returns the current trust bundle, reloading it first if the files
// changed and the check interval has passed.
func (s *Source) Bundle() *x509.CertPool {
	s.maybeReload()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pool
}

// Reload reads the files if they changed since the last successful load. On
// error the previous material stays in use.
func (s *Source) Reload() error {
	stamps, err := s.stat()
	if err != nil {
		return err
	}
	s.mu.RLock()
	unchanged := s.cert != nil && stamps == s.stamps
	s.mu.RUnlock()
	if unchanged {
		return nil
	}
	cert, id, pool, err := load(s.files)
	if err != nil {
		return err
	}
	s.mu.Lock()
	first := s.cert == nil
	s.cert, s.id, s.pool, s.stamps = cert, id, pool, stamps
	s.mu.Unlock()
	if !first {
		s.log.Info("mTLS material reloaded", "spiffe_id", id.String(),
			"serial", cert.Leaf.SerialNumber.Text(16), "not_after", cert.Leaf.NotAfter)
	}
	return nil
}

// Watch polls the files every interval until ctx ends, so new material is
// picked up (and problems logged) even without handshakes. It is optional:
// handshakes check the files themselves.
func (s *Source) Watch(ctx context.Context, interval time.Duration) error {
	periodic.Every(ctx, interval, func(context.Context) {
		if err := s.Reload(); err != nil {
			s.log.Warn("mTLS reload failed; keeping current material", "error", err)
		}
	})
	return ctx.Err()
}

// maybeReload runs Reload at most once per interval. Handshakes call it, so
// it must be cheap in the common case: one mutex-guarded time comparison.
func (s *Source) maybeReload() {
	now := time.Now()
	s.mu.Lock()
	due := now.Sub(s.lastCheck) >= s.interval
	if due {
		s.lastCheck = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	if err := s.Reload(); err != nil {
		// A rotation in progress (new cert, old key) fails here; the next
		// check retries with the previous material still serving.
		s.log.Warn("mTLS reload failed; keeping current material", "error", err)
	}
}

func (s *Source) stat() ([3]stamp, error) {
	var st [3]stamp
	for i, name := range []string{s.files.CertFile, s.files.KeyFile, s.files.CAFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("mtls: %w", err)
		}
		st[i] = stamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return st, nil
}

func load(files Files) (*tls.Certificate, spiffeid.ID, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(files.CertFile, files.KeyFile)
	if err != nil {
		return nil, spiffeid.ID{}, nil, fmt.Errorf("mtls: load key pair %s: %w", files.CertFile, err)
	}
	id, err := IDFromCert(cert.Leaf)
	if err != nil {
		return nil, spiffeid.ID{}, nil, fmt.Errorf("mtls: %s: %w", files.CertFile, err)
	}
	caPEM, err := os.ReadFile(files.CAFile)
	if err != nil {
		return nil, spiffeid.ID{}, nil, fmt.Errorf("mtls: read bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, spiffeid.ID{}, nil, fmt.Errorf("mtls: bundle %s holds no certificate", files.CAFile)
	}
	return &cert, id, pool, nil
}

// IDFromCert returns the SPIFFE ID of cert, which must carry exactly one URI
// SAN (the X.509-SVID rule) in the Rampart trust domain.
func IDFromCert(cert *x509.Certificate) (spiffeid.ID, error) {
	if cert == nil {
		return spiffeid.ID{}, errors.New("no certificate")
	}
	if len(cert.URIs) != 1 {
		return spiffeid.ID{}, fmt.Errorf("certificate has %d URI SANs, want exactly 1", len(cert.URIs))
	}
	id, err := spiffeid.FromURI(cert.URIs[0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("certificate URI SAN: %w", err)
	}
	if id.TrustDomain().Name() != pki.TrustDomain {
		return spiffeid.ID{}, fmt.Errorf("certificate SPIFFE ID %s is outside trust domain %s", id, pki.TrustDomain)
	}
	return id, nil
}
