package kms

import (
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
)

// DataKeySize is the size of every data key: AES-256.
const DataKeySize = 32

var (
	// ErrDecrypt means a wrapped key or ciphertext did not open: wrong
	// tenant, wrong context, tampered, or its key was destroyed.
	ErrDecrypt = errors.New("kms: decryption failed")
	// ErrShredded means the tenant's key-encryption key was destroyed.
	ErrShredded = errors.New("kms: tenant key destroyed")
)

// DataKey is a freshly generated data key.
type DataKey struct {
	Plaintext []byte // 32 bytes; never stored
	Wrapped   []byte // store this
	KeyID     string // KEK version that wrapped it
}

// Provider wraps and unwraps data keys under per-tenant key-encryption keys.
// The tenant and the encryption context are bound to every wrapped key.
type Provider interface {
	// GenerateDataKey returns a new data key wrapped under the tenant's
	// current KEK.
	GenerateDataKey(ctx context.Context, tenant string, encCtx map[string]string) (DataKey, error)
	// Decrypt unwraps a data key of the tenant made with the same context.
	Decrypt(ctx context.Context, tenant string, wrapped []byte, encCtx map[string]string) (plaintext []byte, keyID string, err error)
	// RotateTenantKey makes a new current KEK version for the tenant.
	RotateTenantKey(ctx context.Context, tenant string) (keyID string, err error)
	// DestroyTenant destroys every KEK version of the tenant (crypto-shred).
	DestroyTenant(ctx context.Context, tenant string) error
	// Name is the provider name for metadata ("local", "awskms").
	Name() string
}

// canonicalContext encodes an encryption context deterministically
// (sorted keys, length-prefixed) together with the tenant, for use as AAD.
func canonicalContext(tenant string, encCtx map[string]string) []byte {
	keys := make([]string, 0, len(encCtx))
	for k := range encCtx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	writeLP(&b, "rampart-kms-v1")
	writeLP(&b, tenant)
	for _, k := range keys {
		writeLP(&b, k)
		writeLP(&b, encCtx[k])
	}
	return []byte(b.String())
}

// appendLP appends s with its length prefix, as writeLP writes it.
func appendLP(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s))) //nolint:gosec // G115: lengths are bounded far below 4 GiB (names ≤ 512 B, ids)
	return append(b, s...)
}

func writeLP(b *strings.Builder, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s))) //nolint:gosec // G115: lengths are bounded far below 4 GiB (names ≤ 512 B, ids)
	b.Write(n[:])
	b.WriteString(s)
}
