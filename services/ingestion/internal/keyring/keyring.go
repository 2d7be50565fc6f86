package keyring

import (
	"container/list"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Purpose binds wrapped keys to this use (encryption context).
const Purpose = "rampart-ingestion"

// sealVersion prefixes sealed values: version ‖ nonce ‖ ciphertext.
const sealVersion = 1

// ErrNoKey is returned by Open for a tenant that never had a key.
var ErrNoKey = fmt.Errorf("tenant has no data key: %w", grpcerr.ErrNotFound)

// ErrCorrupt is returned when a sealed value does not authenticate.
var ErrCorrupt = errors.New("sealed value does not authenticate")

// KMS makes and unwraps data keys for the tenant of the call in ctx.
type KMS interface {
	GenerateDataKey(ctx context.Context, encryptionContext map[string]string) (plaintext, wrapped []byte, keyID string, err error)
	Decrypt(ctx context.Context, wrapped []byte, encryptionContext map[string]string) ([]byte, error)
}

// Store keeps wrapped keys.
type Store interface {
	TenantKey(ctx context.Context, tenant string) (store.WrappedKey, error)
	PutTenantKey(ctx context.Context, tenant string, k store.WrappedKey) (store.WrappedKey, error)
}

// Key is a tenant's unwrapped key material.
type Key struct {
	tenant   string
	aead     cipher.AEAD
	mac      []byte
	loadedAt time.Time
}

// Ring caches tenant keys (LRU, bounded). A tenant's key is dropped at
// once when auth purges the tenant (its tenant-event handler) or keyvault
// crypto-shreds it (pkg/tenantevents.ShredWatcher, ADR 0084); the TTL
// bounds it only while neither stream reaches this process.
type Ring struct {
	kms   KMS
	store Store
	max   int
	ttl   time.Duration
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element
	lru  *list.List
	// loading holds the tenants whose key is being loaded (one load per
	// tenant: sf); Forget marks the load dropped so that a key unwrapped
	// before a purge or shred is not cached after it.
	loading map[string]*load
	sf      singleflight.Group
	onNew   func(tenant string)
}

// load is one tenant's key load in flight.
type load struct{ dropped bool }

// ErrDropped is returned by Get when the tenant's keys were dropped
// (Forget: purge or shred) while its key was being loaded.
var ErrDropped = fmt.Errorf("the tenant's data key was dropped while loading (tenant purged or shredded): %w", grpcerr.ErrFailedPrecondition)

// DefaultTTL is how long an unwrapped key is used before keyvault is asked
// again.
const DefaultTTL = 10 * time.Minute

// New returns a ring caching at most maxKeys tenants (default 4096) for at
// most ttl each (default DefaultTTL).
func New(kms KMS, s Store, maxKeys int, ttl time.Duration) *Ring {
	if maxKeys <= 0 {
		maxKeys = 4096
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Ring{kms: kms, store: s, max: maxKeys, ttl: ttl, now: time.Now, keys: map[string]*list.Element{}, lru: list.New(), loading: map[string]*load{}}
}

// SetClock replaces the clock (tests).
func (r *Ring) SetClock(now func() time.Time) { r.now = now }

// OnUnlock registers fn, called (outside locks) whenever a tenant's key
// enters the cache.
func (r *Ring) OnUnlock(fn func(tenant string)) { r.onNew = fn }

func encContext(tenant string) map[string]string {
	return map[string]string{"tenant": tenant, "purpose": Purpose}
}

// Cached returns the tenant's key if it is in memory and not older than
// the TTL (an expired key is dropped).
func (r *Ring) Cached(tenant string) (*Key, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.keys[tenant]
	if !ok {
		return nil, false
	}
	k, _ := e.Value.(*Key)
	if r.now().Sub(k.loadedAt) >= r.ttl {
		r.lru.Remove(e)
		delete(r.keys, tenant)
		return nil, false
	}
	r.lru.MoveToFront(e)
	return k, true
}

// Get returns the tenant's key. ctx must carry the tenant's principal
// (forwarded to keyvault) unless the key is cached. With create, a tenant
// without a key gets one; otherwise that is ErrNoKey.
func (r *Ring) Get(ctx context.Context, tenant string, create bool) (*Key, error) {
	if k, ok := r.Cached(tenant); ok {
		return k, nil
	}
	v, err, _ := r.sf.Do(tenant, func() (any, error) {
		if k, ok := r.Cached(tenant); ok {
			return k, nil
		}
		l := &load{}
		r.mu.Lock()
		r.loading[tenant] = l
		r.mu.Unlock()
		k, err := r.load(ctx, tenant, create)
		r.mu.Lock()
		if r.loading[tenant] == l { // a Forget may have let a newer load start
			delete(r.loading, tenant)
		}
		if err == nil && l.dropped {
			err = ErrDropped
		}
		if err != nil {
			r.mu.Unlock()
			return nil, err
		}
		k.loadedAt = r.now()
		r.keys[tenant] = r.lru.PushFront(k)
		for r.lru.Len() > r.max {
			old := r.lru.Back()
			r.lru.Remove(old)
			ok, _ := old.Value.(*Key)
			delete(r.keys, ok.tenant)
		}
		r.mu.Unlock()
		if r.onNew != nil {
			r.onNew(tenant)
		}
		return k, nil
	})
	if err != nil {
		return nil, err
	}
	k, _ := v.(*Key)
	return k, nil
}

// Tenants lists the tenants whose keys are in memory and not older than
// the TTL: the tenants whose jobs this process can open.
func (r *Ring) Tenants() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.keys))
	now := r.now()
	for tenant, e := range r.keys {
		if k, _ := e.Value.(*Key); now.Sub(k.loadedAt) < r.ttl {
			out = append(out, tenant)
		}
	}
	return out
}

// Forget drops a tenant's key from memory at once (purge, shred): the
// cached key, and the one a load in flight unwraps (that Get fails with
// ErrDropped; a caller waiting on it gets the same). A later Get loads
// again, from keyvault.
func (r *Ring) Forget(tenant string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.keys[tenant]; ok {
		r.lru.Remove(e)
		delete(r.keys, tenant)
	}
	if l, ok := r.loading[tenant]; ok {
		l.dropped = true
	}
	// A Get from now on starts its own load rather than joining the one
	// in flight (whose key is dropped).
	r.sf.Forget(tenant)
}

// ForgetAll drops every tenant's key as Forget drops one: when the
// shreds made meanwhile cannot be known (keyvault's WatchShreds answered
// RESYNC, ADR 0084). The next call of each tenant unwraps its key again.
func (r *Ring) ForgetAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.keys)
	r.lru.Init()
	for tenant, l := range r.loading {
		l.dropped = true
		r.sf.Forget(tenant)
	}
}

func (r *Ring) load(ctx context.Context, tenant string, create bool) (*Key, error) {
	wk, err := r.store.TenantKey(ctx, tenant)
	var plain []byte
	switch {
	case errors.Is(err, store.ErrNotFound) && !create:
		return nil, ErrNoKey
	case errors.Is(err, store.ErrNotFound):
		p, blob, keyID, gerr := r.kms.GenerateDataKey(ctx, encContext(tenant))
		if gerr != nil {
			return nil, grpcerr.DataKey("generate", gerr)
		}
		stored, perr := r.store.PutTenantKey(ctx, tenant, store.WrappedKey{Blob: blob, KMSKeyID: keyID})
		if perr != nil {
			clear(p)
			return nil, perr
		}
		if hmac.Equal(stored.Blob, blob) {
			plain = p
		} else {
			clear(p)
			wk = stored
		}
	case err != nil:
		return nil, err
	}
	if plain == nil {
		p, derr := r.kms.Decrypt(ctx, wk.Blob, encContext(tenant))
		if derr != nil {
			return nil, grpcerr.DataKey("unwrap", derr)
		}
		plain = p
	}
	defer clear(plain)
	if len(plain) != 32 {
		return nil, errors.New("tenant data key is not 256 bits")
	}
	return derive(tenant, plain)
}

// derive splits the data key into an AES-256-GCM key and an HMAC key
// (HMAC-SHA256 of the data key over distinct labels).
func derive(tenant string, dk []byte) (*Key, error) {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, dk)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	ek := sub("rampart-ingestion seal v1")
	defer clear(ek)
	b, err := aes.NewCipher(ek)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Key{tenant: tenant, aead: g, mac: sub("rampart-ingestion mac v1")}, nil
}

// aad binds a sealed value to its tenant, kind and id.
func (k *Key) aad(kind, id string) []byte {
	b := make([]byte, 0, len(k.tenant)+len(kind)+len(id)+2)
	b = append(b, k.tenant...)
	b = append(b, 0)
	b = append(b, kind...)
	b = append(b, 0)
	return append(b, id...)
}

// Seal encrypts pt bound to (tenant, kind, id).
func (k *Key) Seal(kind, id string, pt []byte) []byte {
	nonce := randomNonce(k.aead.NonceSize())
	out := make([]byte, 0, 1+len(nonce)+len(pt)+k.aead.Overhead())
	out = append(append(out, sealVersion), nonce...)
	return k.aead.Seal(out, nonce, pt, k.aad(kind, id))
}

// randomNonce returns a fresh random 96-bit GCM nonce (one tenant key seals
// far fewer than the 2^32 values where random nonces start to risk a
// collision).
func randomNonce(n int) []byte {
	nonce := make([]byte, n)
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never fails on supported platforms
	}
	return nonce
}

// Open decrypts a value sealed for (tenant, kind, id).
func (k *Key) Open(kind, id string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrCorrupt
	}
	pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], k.aad(kind, id))
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}

// MAC returns the tenant-keyed HMAC-SHA256 of data (content hashes).
func (k *Key) MAC(data []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(data)
	return m.Sum(nil)
}
