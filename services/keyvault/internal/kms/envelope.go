package kms

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DEKStore persists the wrapped per-tenant data keys that seal secret values.
type DEKStore interface {
	// CurrentDEK returns the tenant's newest data key; ok is false if none.
	CurrentDEK(ctx context.Context, tenant string) (id string, wrapped []byte, ok bool, err error)
	// DEK returns one data key of the tenant.
	DEK(ctx context.Context, tenant, id string) (wrapped []byte, err error)
	// InsertDEK stores a new data key.
	InsertDEK(ctx context.Context, tenant, id string, wrapped []byte) error
}

// dekContext is the encryption context of keyvault's own data keys.
var dekContext = map[string]string{"purpose": "keyvault-secrets"}

// Envelope seals secret values under per-tenant data keys.
type Envelope struct {
	provider Provider
	store    DEKStore

	mu      sync.RWMutex
	current map[string]currentDEK      // tenant → current data key, checked every KeyCacheTTL
	keys    map[string]map[string]*dek // tenant → dek id → key
	n       int                        // keys cached
	max     int
}

// dek is an unwrapped data key, kept as its AES-256-GCM instance: building
// the AES key schedule and GCM tables on every Seal and Open cost the key
// expansion and ~1 KB of allocations per read; one instance per cached key
// is reused (crypto/cipher's GCM is safe for concurrent use). The raw key
// bytes are zeroed as soon as the instance exists. The schedule inside it
// cannot be zeroed (crypto/aes has no API for that): before, every read
// left one such schedule in garbage memory; now there is one per cached
// key, dropped on eviction, Forget and Shred.
type dek struct{ aead cipher.AEAD }

// currentDEK is the id of a tenant's current data key and when the store
// last said so. Sealing with it is re-checked every KeyCacheTTL, so a
// replica stops sealing for a tenant another replica shredded (whose data
// keys are erased). Opening needs no check: a value to open is read from
// the store, and a shred erases the values with their keys.
type currentDEK struct {
	id      string
	checked time.Time
}

// MaxCachedKeys bounds the unwrapped data keys kept in memory; beyond it an
// arbitrary other key is evicted — it is unwrapped again on next use.
const MaxCachedKeys = 4096

// zero overwrites key material.
func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// NewEnvelope returns an Envelope over provider and store.
func NewEnvelope(provider Provider, store DEKStore) *Envelope {
	return &Envelope{provider: provider, store: store, current: map[string]currentDEK{}, keys: map[string]map[string]*dek{}, max: MaxCachedKeys}
}

// Provider returns the KMS provider.
func (e *Envelope) Provider() Provider { return e.provider }

// AAD is the additional authenticated data of a secret version:
// tenant ‖ secret id ‖ version id, each length-prefixed.
// It is built at its final size (one allocation per secret read, where
// growing a strings.Builder and copying its string made five).
func AAD(tenant, secretID, versionID string) []byte {
	const label = "rampart-secret-v1"
	b := make([]byte, 0, 4*4+len(label)+len(tenant)+len(secretID)+len(versionID))
	b = appendLP(b, label)
	b = appendLP(b, tenant)
	b = appendLP(b, secretID)
	return appendLP(b, versionID)
}

// EnsureKey makes sure the tenant has a data key (creating and caching it)
// and that the cached one was checked against the store less than
// KeyCacheTTL ago. Callers run it before their write transaction: Seal,
// inside that transaction, then needs no database access.
func (e *Envelope) EnsureKey(ctx context.Context, tenant string) error {
	_, _, err := e.currentKey(ctx, tenant, true)
	return err
}

// Seal encrypts a value of the tenant's secret version with the tenant's
// current data key as EnsureKey last checked it. It does not re-check the
// key's age: Seal runs inside a write transaction, and on SQLite a store
// read from there waited for a pooled connection that transactions queued
// behind this one's write lock were holding, until their 5 s busy timeout
// failed them (ADR 0072). Only a key missing from the cache is read.
func (e *Envelope) Seal(ctx context.Context, tenant, secretID, versionID string, plaintext []byte) (ct []byte, dekID string, err error) {
	id, g, err := e.currentKey(ctx, tenant, false)
	if err != nil {
		return nil, "", err
	}
	ct, err = sealWith(g, plaintext, AAD(tenant, secretID, versionID))
	if err != nil {
		return nil, "", err
	}
	return ct, id, nil
}

// Open decrypts a value sealed by Seal for exactly this tenant, secret and
// version.
func (e *Envelope) Open(ctx context.Context, tenant, secretID, versionID, dekID string, ct []byte) ([]byte, error) {
	g, err := e.key(ctx, tenant, dekID)
	if err != nil {
		return nil, err
	}
	return openWith(g, ct, AAD(tenant, secretID, versionID))
}

// Forget drops the tenant's cached data keys (after a crypto-shred).
func (e *Envelope) Forget(tenant string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.current, tenant)
	e.n -= len(e.keys[tenant])
	delete(e.keys, tenant)
}

// Shred destroys the tenant's KEK and forgets its data keys: everything the
// tenant stored becomes unreadable.
func (e *Envelope) Shred(ctx context.Context, tenant string) error {
	if err := e.provider.DestroyTenant(ctx, tenant); err != nil {
		return err
	}
	e.Forget(tenant)
	return nil
}

// currentKey returns the tenant's current data key, from the cache when it
// is there (and, with fresh, was checked less than KeyCacheTTL ago).
func (e *Envelope) currentKey(ctx context.Context, tenant string, fresh bool) (string, cipher.AEAD, error) {
	e.mu.RLock()
	cur, ok := e.current[tenant]
	var g cipher.AEAD
	if ok && (!fresh || time.Since(cur.checked) < KeyCacheTTL) {
		if k := e.keys[tenant][cur.id]; k != nil {
			g = k.aead
		}
	}
	e.mu.RUnlock()
	if g != nil {
		return cur.id, g, nil
	}
	id, wrapped, ok, err := e.store.CurrentDEK(ctx, tenant)
	if err != nil {
		return "", nil, fmt.Errorf("kms: load data key: %w", err)
	}
	if !ok {
		e.mu.Lock()
		delete(e.current, tenant)
		e.mu.Unlock()
		if err := e.newKey(ctx, tenant); err != nil {
			if errors.Is(err, ErrShredded) {
				// Shredded through another replica: drop what is cached.
				e.Forget(tenant)
			}
			return "", nil, err
		}
		// Another writer may have won the race: use whatever is current.
		return e.currentKey(ctx, tenant, fresh)
	}
	e.mu.RLock()
	if k := e.keys[tenant][id]; k != nil {
		g = k.aead // still cached: the check needed no unwrap
	}
	e.mu.RUnlock()
	if g == nil {
		if g, err = e.unwrap(ctx, tenant, id, wrapped); err != nil {
			return "", nil, err
		}
	}
	e.mu.Lock()
	e.current[tenant] = currentDEK{id: id, checked: time.Now()}
	e.mu.Unlock()
	return id, g, nil
}

// newKey makes and stores a data key for a tenant that has none.
func (e *Envelope) newKey(ctx context.Context, tenant string) error {
	dk, err := e.provider.GenerateDataKey(ctx, tenant, dekContext)
	if err != nil {
		return err
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("kms: %w", err)
	}
	zero(dk.Plaintext) // only the wrapped form is stored; unwrap makes the AEAD
	id := "dek-" + hex.EncodeToString(rnd[:])
	if err := e.store.InsertDEK(ctx, tenant, id, dk.Wrapped); err != nil {
		return fmt.Errorf("kms: store data key: %w", err)
	}
	return nil
}

// key returns the AEAD of the tenant's data key id, unwrapping it on a
// cache miss.
func (e *Envelope) key(ctx context.Context, tenant, id string) (cipher.AEAD, error) {
	e.mu.RLock()
	var g cipher.AEAD
	if k := e.keys[tenant][id]; k != nil {
		g = k.aead
	}
	e.mu.RUnlock()
	if g != nil {
		return g, nil
	}
	wrapped, err := e.store.DEK(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("kms: load data key: %w", err)
	}
	return e.unwrap(ctx, tenant, id, wrapped)
}

func (e *Envelope) unwrap(ctx context.Context, tenant, id string, wrapped []byte) (cipher.AEAD, error) {
	key, _, err := e.provider.Decrypt(ctx, tenant, wrapped, dekContext)
	if err != nil {
		return nil, err
	}
	g, err := newGCM(key)
	zero(key) // the AEAD holds its own schedule
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys[tenant] == nil {
		e.keys[tenant] = map[string]*dek{}
	}
	if _, ok := e.keys[tenant][id]; ok {
		e.n--
	}
	for e.n >= e.max {
		if !e.evictOne() {
			break
		}
	}
	e.keys[tenant][id] = &dek{aead: g}
	e.n++
	return g, nil
}

// evictOne drops one cached key (callers may still hold its AEAD for the
// operation in progress).
func (e *Envelope) evictOne() bool {
	for t, m := range e.keys {
		for id := range m {
			delete(m, id)
			e.n--
			if len(m) == 0 {
				delete(e.keys, t)
			}
			if e.current[t].id == id {
				delete(e.current, t)
			}
			return true
		}
	}
	return false
}
