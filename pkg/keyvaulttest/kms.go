package keyvaulttest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrShredded is returned for a tenant whose key was destroyed.
var ErrShredded = errors.New("tenant key destroyed")

// KMS wraps data keys with one key-encryption key per tenant.
type KMS struct {
	mu       sync.Mutex
	masters  map[string]cipher.AEAD
	shredded map[string]bool
	// Generated and Decrypted count data keys made and opened.
	Generated, Decrypted atomic.Int64
}

// NewKMS returns a KMS without keys (a tenant's key is made on first use).
func NewKMS() *KMS { return &KMS{masters: map[string]cipher.AEAD{}, shredded: map[string]bool{}} }

func (k *KMS) master(tenant string) (cipher.AEAD, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shredded[tenant] {
		return nil, ErrShredded
	}
	if m, ok := k.masters[tenant]; ok {
		return m, nil
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	k.masters[tenant] = g
	return g, nil
}

// Shred destroys a tenant's key: its data keys can no longer be opened.
func (k *KMS) Shred(tenant string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.masters, tenant)
	k.shredded[tenant] = true
}

func aad(ec map[string]string) []byte {
	b, _ := json.Marshal(ec) // map keys marshal sorted
	return b
}

// Generate makes a data key for tenant bound to the encryption context.
func (k *KMS) Generate(tenant string, ec map[string]string) (plain, wrapped []byte, err error) {
	m, err := k.master(tenant)
	if err != nil {
		return nil, nil, err
	}
	k.Generated.Add(1)
	plain = make([]byte, 32)
	_, _ = rand.Read(plain)
	nonce := make([]byte, m.NonceSize())
	_, _ = rand.Read(nonce)
	return plain, m.Seal(nonce, nonce, plain, aad(ec)), nil
}

// Unwrap opens a data key of tenant made with the same encryption context.
func (k *KMS) Unwrap(tenant string, wrapped []byte, ec map[string]string) ([]byte, error) {
	m, err := k.master(tenant)
	if err != nil {
		return nil, err
	}
	k.Decrypted.Add(1)
	n := m.NonceSize()
	if len(wrapped) < n {
		return nil, errors.New("malformed blob")
	}
	return m.Open(nil, wrapped[:n], wrapped[n:], aad(ec))
}

// KeyID is the key id the fake reports for every data key.
const KeyID = "test-1"

// Direct is the KMS in-process, as a service's KMS interface
// (GenerateDataKey, Decrypt); the tenant is the encryption context's
// "tenant".
type Direct struct{ K *KMS }

// GenerateDataKey makes a data key.
func (d Direct) GenerateDataKey(_ context.Context, ec map[string]string) (plain, wrapped []byte, keyID string, err error) {
	p, w, err := d.K.Generate(ec["tenant"], ec)
	return p, w, KeyID, err
}

// Decrypt opens a data key.
func (d Direct) Decrypt(_ context.Context, wrapped []byte, ec map[string]string) ([]byte, error) {
	return d.K.Unwrap(ec["tenant"], wrapped, ec)
}
