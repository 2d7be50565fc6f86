package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/rampart-platform/rampart/pkg/tenantkey"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Purpose binds wrapped keys to this use (encryption context).
const Purpose = "rampart-ingestion"

// sealVersion prefixes sealed values: version ‖ nonce ‖ ciphertext.
const sealVersion = 1

// ErrNoKey is returned by Get without create for a tenant that never had
// a key.
var ErrNoKey = tenantkey.ErrNoKey

// ErrCorrupt is returned when a sealed value does not authenticate.
var ErrCorrupt = errors.New("sealed value does not authenticate")

// KMS makes and unwraps data keys for the tenant of the call in ctx.
type KMS = tenantkey.KMS

// Store keeps wrapped keys.
type Store interface {
	TenantKey(ctx context.Context, tenant string) (store.WrappedKey, error)
	PutTenantKey(ctx context.Context, tenant string, k store.WrappedKey) (store.WrappedKey, error)
}

// Key is a tenant's unwrapped key material.
type Key struct {
	tenant string
	aead   cipher.AEAD
	mac    []byte
}

// Ring caches tenant keys (pkg/tenantkey: LRU, bounded, TTL, one load per
// tenant). A tenant's key is dropped at once when auth purges the tenant
// (its tenant-event handler) or keyvault crypto-shreds it
// (pkg/tenantevents.ShredWatcher, ADR 0084): Forget, ForgetAll, a load in
// flight included (ErrDropped); the TTL bounds it only while neither
// stream reaches this process. Get, Cached, Tenants, OnUnlock and
// SetClock are tenantkey.Keys'.
type Ring struct {
	*tenantkey.Keys[*Key]
}

// ErrDropped is returned by Get when the tenant's keys were dropped
// (Forget: purge or shred) while its key was being loaded.
var ErrDropped = tenantkey.ErrDropped

// DefaultTTL is how long an unwrapped key is used before keyvault is asked
// again.
const DefaultTTL = tenantkey.DefaultTTL

// New returns a ring caching at most maxKeys tenants (default 4096) for at
// most ttl each (default DefaultTTL).
func New(kms KMS, s Store, maxKeys int, ttl time.Duration) *Ring {
	ks := tenantkey.StoreFuncs[store.WrappedKey]{Get: s.TenantKey, Put: s.PutTenantKey, NotFound: store.ErrNotFound}
	l := tenantkey.Loader{KMS: kms, Store: ks, Purpose: Purpose}
	return &Ring{tenantkey.NewKeys(l, derive, maxKeys, ttl)}
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
