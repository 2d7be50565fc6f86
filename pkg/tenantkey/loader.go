package tenantkey

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// ErrNoKey is returned for a tenant that never had a data key (Get
// without create), and is what a Store's TenantKey returns (errors.Is)
// for such a tenant.
var ErrNoKey = fmt.Errorf("tenant has no data key: %w", grpcerr.ErrNotFound)

// errKeySize: keyvault's data keys are AES-256 keys.
var errKeySize = errors.New("tenant data key is not 256 bits")

// KMS makes and unwraps data keys for the tenant of the call in ctx
// (pkg/secrets.KeyvaultKMS; keyvaulttest.Direct in tests).
type KMS interface {
	GenerateDataKey(ctx context.Context, encryptionContext map[string]string) (plaintext, wrapped []byte, keyID string, err error)
	Decrypt(ctx context.Context, wrapped []byte, encryptionContext map[string]string) ([]byte, error)
}

// WrappedKey is a tenant's data key as keyvault wrapped it: all a service
// stores of it.
type WrappedKey struct {
	Blob     []byte
	KMSKeyID string
}

// Store keeps the wrapped keys, one per tenant.
type Store interface {
	// TenantKey returns the tenant's wrapped key, or an error matching
	// ErrNoKey.
	TenantKey(ctx context.Context, tenant string) (WrappedKey, error)
	// PutTenantKey stores k unless the tenant has a key already, and
	// returns the stored one (the first writer wins).
	PutTenantKey(ctx context.Context, tenant string, k WrappedKey) (WrappedKey, error)
}

// StoreFuncs is a Store over a service's own store methods, whose wrapped
// key type W has WrappedKey's fields and whose Get returns NotFound
// (errors.Is) for a tenant without a key.
type StoreFuncs[W ~struct {
	Blob     []byte
	KMSKeyID string
}] struct {
	Get      func(ctx context.Context, tenant string) (W, error)
	Put      func(ctx context.Context, tenant string, k W) (W, error)
	NotFound error
}

// TenantKey implements Store.
func (s StoreFuncs[W]) TenantKey(ctx context.Context, tenant string) (WrappedKey, error) {
	k, err := s.Get(ctx, tenant)
	if errors.Is(err, s.NotFound) {
		return WrappedKey{}, ErrNoKey
	}
	return WrappedKey(k), err
}

// PutTenantKey implements Store.
func (s StoreFuncs[W]) PutTenantKey(ctx context.Context, tenant string, k WrappedKey) (WrappedKey, error) {
	stored, err := s.Put(ctx, tenant, W(k))
	return WrappedKey(stored), err
}

// Loader gets tenants' data keys from a Store and keyvault.
type Loader struct {
	KMS   KMS
	Store Store
	// Purpose binds the wrapped keys to their use (the encryption
	// context's "purpose").
	Purpose string
}

// EncryptionContext is what a tenant's wrapped key is bound to.
func (l Loader) EncryptionContext(tenant string) map[string]string {
	return map[string]string{"tenant": tenant, "purpose": l.Purpose}
}

// DataKey returns the tenant's 256-bit data key in plaintext, for the
// caller to derive its keys from and clear. Without create, a tenant
// without a key is ErrNoKey; with it, keyvault makes one, and when another
// replica stored its key first that one is unwrapped instead. Keyvault's
// failures come back as grpcerr.DataKey says (nothing internal).
func (l Loader) DataKey(ctx context.Context, tenant string, create bool) ([]byte, error) {
	wk, err := l.Store.TenantKey(ctx, tenant)
	if errors.Is(err, ErrNoKey) && create {
		var plain []byte
		if plain, wk, err = l.generate(ctx, tenant); plain != nil {
			return checkSize(plain)
		}
	}
	switch {
	case errors.Is(err, ErrNoKey):
		return nil, ErrNoKey
	case err != nil:
		return nil, err
	}
	plain, err := l.KMS.Decrypt(ctx, wk.Blob, l.EncryptionContext(tenant))
	if err != nil {
		return nil, grpcerr.DataKey("unwrap", err)
	}
	return checkSize(plain)
}

// generate makes the tenant a key and stores it wrapped; when another
// writer's key was stored first it returns that one (wrapped) and no
// plaintext.
func (l Loader) generate(ctx context.Context, tenant string) (plain []byte, stored WrappedKey, err error) {
	p, blob, keyID, err := l.KMS.GenerateDataKey(ctx, l.EncryptionContext(tenant))
	if err != nil {
		return nil, WrappedKey{}, grpcerr.DataKey("generate", err)
	}
	stored, err = l.Store.PutTenantKey(ctx, tenant, WrappedKey{Blob: blob, KMSKeyID: keyID})
	if err != nil || subtle.ConstantTimeCompare(stored.Blob, blob) != 1 {
		clear(p)
		return nil, stored, err
	}
	return p, stored, nil
}

func checkSize(plain []byte) ([]byte, error) {
	if len(plain) != 32 {
		clear(plain)
		return nil, errKeySize
	}
	return plain, nil
}
