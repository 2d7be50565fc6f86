package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rampart-platform/rampart/pkg/principal"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// KEKSize is the size of the key-encryption key.
const KEKSize = 32

// Manager holds the current signer and the published public keys.
type Manager struct {
	db          *store.DB
	aead        cipher.AEAD
	now         func() time.Time
	rotateEvery time.Duration

	mu     sync.RWMutex
	signer *principal.Signer
	keys   []store.SigningKey

	// pullMu serialises the refreshes asked for by a key this replica
	// does not know (another replica rotated, ADR 0134); lastPull bounds
	// them to one per pullGap.
	pullMu   sync.Mutex
	lastPull time.Time
}

// pullGap bounds the database reads caused by kids this replica does not
// have: another replica's new key is found at the first, a forged kid
// costs one read per pullGap at most.
const pullGap = time.Second

// LoadKEK reads the key-encryption key at path, creating it (0600) with
// fresh random bytes when it does not exist.
func LoadKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != KEKSize {
			return nil, fmt.Errorf("signing KEK %s: want %d bytes, got %d", path, KEKSize, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read signing KEK: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create signing KEK dir: %w", err)
	}
	b = make([]byte, KEKSize)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate signing KEK: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create signing KEK: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write signing KEK: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write signing KEK: %w", err)
	}
	return b, nil
}

// New loads the signing keys from db, generating the first one (or a
// successor, when the newest is older than rotateEvery).
func New(ctx context.Context, db *store.DB, kek []byte, now func() time.Time, rotateEvery time.Duration) (*Manager, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("signing KEK: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signing KEK: %w", err)
	}
	if rotateEvery <= 0 {
		rotateEvery = 30 * 24 * time.Hour
	}
	m := &Manager{db: db, aead: aead, now: now, rotateEvery: rotateEvery}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := m.MaybeRotate(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Signer returns the current signer.
func (m *Manager) Signer() *principal.Signer {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.signer
}

// PublicKeys returns every key that still verifies, newest first.
func (m *Manager) PublicKeys() []store.SigningKey {
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := m.now()
	out := make([]store.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		if k.NotAfter.After(now) {
			out = append(out, store.SigningKey{KID: k.KID, PublicKey: k.PublicKey, CreatedAt: k.CreatedAt, NotAfter: k.NotAfter})
		}
	}
	return out
}

// Refresh reloads the keys from the store (another replica may have rotated).
func (m *Manager) Refresh(ctx context.Context) error {
	keys, err := m.db.Q().SigningKeys(ctx, m.now())
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	var signer *principal.Signer
	if len(keys) > 0 {
		newest := keys[0]
		seed, err := m.aead.Open(nil, newest.Sealed[:m.aead.NonceSize()], newest.Sealed[m.aead.NonceSize():], []byte(newest.KID))
		if err != nil || len(seed) != ed25519.SeedSize {
			return fmt.Errorf("unseal signing key %s: wrong KEK or corrupted key", newest.KID)
		}
		signer, err = principal.NewSigner(newest.KID, ed25519.NewKeyFromSeed(seed), principal.MaxTTL)
		if err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.keys, m.signer = keys, signer
	m.mu.Unlock()
	return nil
}

// MaybeRotate rotates when there is no key or the newest is due.
func (m *Manager) MaybeRotate(ctx context.Context) error {
	m.mu.RLock()
	due := m.due(m.keys, m.now())
	m.mu.RUnlock()
	if !due {
		return nil
	}
	return m.rotate(ctx, true)
}

// Rotate creates a new signing key. Older keys keep verifying for
// principal.MaxTTL plus a minute, long enough for every assertion they signed.
func (m *Manager) Rotate(ctx context.Context) error { return m.rotate(ctx, false) }

// due reports whether keys (newest first) call for a rotation at now.
func (m *Manager) due(keys []store.SigningKey, now time.Time) bool {
	return len(keys) == 0 || !now.Before(keys[0].CreatedAt.Add(m.rotateEvery))
}

// rotate creates a new signing key; onlyIfDue skips it when the keys read
// under the rotation lock are not due — every auth replica finds a rotation
// due at about the same minute, and without the lock and the second look
// each made a key of its own (ADR 0095).
func (m *Manager) rotate(ctx context.Context, onlyIfDue bool) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	idb := make([]byte, 6)
	if _, err := rand.Read(idb); err != nil {
		return fmt.Errorf("generate kid: %w", err)
	}
	now := m.now()
	kid := "sk" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(idb)
	nonce := make([]byte, m.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("generate nonce: %w", err)
	}
	sealed := m.aead.Seal(nonce, nonce, priv.Seed(), []byte(kid))
	retire := now.Add(principal.MaxTTL + time.Minute)
	err = m.db.Tx(ctx, func(q *store.Queries) error {
		if err := q.LockSigningKeys(ctx); err != nil {
			return err
		}
		old, err := q.SigningKeys(ctx, now)
		if err != nil {
			return err
		}
		if onlyIfDue && !m.due(old, now) {
			return nil // another replica rotated first: Refresh picks its key up
		}
		for _, k := range old {
			if k.NotAfter.After(retire) {
				if err := q.SetSigningKeyNotAfter(ctx, k.KID, retire); err != nil {
					return err
				}
			}
		}
		return q.InsertSigningKey(ctx, store.SigningKey{KID: kid, PublicKey: pub, Sealed: sealed, CreatedAt: now, NotAfter: now.Add(2 * m.rotateEvery)})
	})
	if err != nil {
		return fmt.Errorf("store signing key: %w", err)
	}
	return m.Refresh(ctx)
}

// PublicKey implements principal.Keys over the published keys, so auth
// verifies the assertions it minted itself — and those another auth
// replica minted: a kid this replica does not have (the other one rotated
// since this one's last Refresh, up to a minute ago) reloads the keys
// from the database first, at most once per pullGap (ADR 0134).
func (m *Manager) PublicKey(kid string) (ed25519.PublicKey, bool) {
	if pk, ok := m.loadedKey(kid); ok {
		return pk, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m.pull(ctx)
	return m.loadedKey(kid)
}

func (m *Manager) loadedKey(kid string) (ed25519.PublicKey, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := m.now()
	for _, k := range m.keys {
		if k.KID == kid && k.NotAfter.After(now) {
			return ed25519.PublicKey(k.PublicKey), true
		}
	}
	return nil, false
}

// CurrentPublicKeys returns PublicKeys after reloading them from the
// database (at most once per pullGap): what GetSigningKeys publishes. A
// service that finds a kid it does not know asks auth — any replica,
// through its balancer — and must get the key another replica has just
// rotated to, not this replica's copy of up to a minute ago (ADR 0134). A
// failed reload is logged by the caller's next Refresh; the loaded keys
// are served.
func (m *Manager) CurrentPublicKeys(ctx context.Context) []store.SigningKey {
	m.pull(ctx)
	return m.PublicKeys()
}

// pull refreshes the keys unless that was done less than pullGap ago.
func (m *Manager) pull(ctx context.Context) {
	m.pullMu.Lock()
	defer m.pullMu.Unlock()
	now := m.now()
	if since := now.Sub(m.lastPull); !m.lastPull.IsZero() && since >= 0 && since < pullGap {
		return
	}
	m.lastPull = now
	_ = m.Refresh(ctx) // on failure the loaded keys stay; the minute's Refresh logs
}
