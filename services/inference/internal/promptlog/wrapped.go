package promptlog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// An assistant's system prompt stored before sealing (ADR 0065) is sealed
// eagerly, without a call of its tenant (ADR 0077): inference asks
// keyvault's encrypt-only WrapForTenant for a fresh data key of the tenant,
// seals the prompt with it and stores the wrapped key inside the sealed
// value (seal version 2). Reading it unwraps that key through Decrypt on a
// principal of the tenant, as any other of the tenant's keys; inference
// alone can open nothing.
//
// Version 2: 2 ‖ uint16 len(wrapped key) ‖ wrapped key ‖ nonce ‖ ciphertext,
// AAD as version 1 (assistantPromptAAD). The wrapped key is bound to
// WrapContext(tenant).
//
// Version 0 is the tombstone of a legacy prompt of a crypto-shredded
// tenant: keyvault refused to make it a key, and its plaintext is erased
// rather than kept in clear after the shred (it opens with the error a
// sealed prompt of a shredded tenant gives).

// Seal versions of assistants' system prompts besides sealVersion.
const (
	sealShredded = 0
	sealWrapped  = 2
)

// WrapPurpose is the encryption-context purpose of the keys WrapForTenant
// makes for system prompts.
const WrapPurpose = "rampart-inference-assistant-prompt"

// wrapMarker is what keyvault adds to the context of every WrapForTenant
// key (keyvault's vault.WrapMarker); Decrypt needs it too.
const wrapMarker = "rampart_wrap_for_tenant"

// Wrapper makes fresh data keys for a tenant without its principal
// (keyvault's KeyWrapService.WrapForTenant).
type Wrapper interface {
	WrapForTenant(ctx context.Context, tenant string, encryptionContext map[string]string) (plaintext, wrapped []byte, bound map[string]string, err error)
}

// WrapContext is the encryption context of a version-2 seal's key as
// keyvault binds it (the request's context plus keyvault's marker).
func WrapContext(tenant string) map[string]string {
	return map[string]string{"tenant": tenant, "purpose": WrapPurpose, wrapMarker: "1"}
}

// ErrShreddedPrompt is what opening a shredded tenant's tombstone gives.
var ErrShreddedPrompt = fmt.Errorf("the tenant's data key has been destroyed: %w", grpcerr.ErrFailedPrecondition)

// SealPromptForTenant seals the system prompt of the tenant's assistant
// name as version 2, with a fresh key from w: no principal of the tenant
// is needed.
func SealPromptForTenant(ctx context.Context, w Wrapper, tenant, name, prompt string) ([]byte, error) {
	want := WrapContext(tenant)
	req := maps.Clone(want)
	delete(req, wrapMarker)
	plain, wrapped, bound, err := w.WrapForTenant(ctx, tenant, req)
	if err != nil {
		return nil, fmt.Errorf("assistant %q: wrap a data key for the tenant: %w", name, err)
	}
	defer clear(plain)
	if !maps.Equal(bound, want) {
		return nil, fmt.Errorf("assistant %q: keyvault bound the key to an unexpected encryption context", name)
	}
	if len(wrapped) == 0 || len(wrapped) > 0xffff {
		return nil, fmt.Errorf("assistant %q: wrapped key of %d bytes", name, len(wrapped))
	}
	g, err := gcm(plain)
	if err != nil {
		return nil, err
	}
	body, err := seal(g, []byte(prompt), assistantPromptAAD(tenant, name))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 3+len(wrapped)+len(body)-1)
	out = append(out, sealWrapped)
	out = binary.BigEndian.AppendUint16(out, uint16(len(wrapped))) //nolint:gosec // checked above
	out = append(out, wrapped...)
	return append(out, body[1:]...), nil // body without seal's version byte
}

// ShreddedPrompt is the tombstone stored for a legacy plaintext prompt of
// a tenant keyvault has crypto-shredded.
func ShreddedPrompt() []byte { return []byte{sealShredded} }

// PromptSealedForTenant reports whether a sealed system prompt is a
// version-2 seal (its own wrapped key): the tenant's next read re-seals
// it with the tenant's data key (one Decrypt, then none).
func PromptSealedForTenant(sealed []byte) bool { return len(sealed) > 0 && sealed[0] == sealWrapped }

// WrappedKeyOf returns the wrapped data key inside a version-2 seal.
func WrappedKeyOf(sealed []byte) ([]byte, error) {
	wrapped, _, err := splitWrapped(sealed)
	return wrapped, err
}

func splitWrapped(sealed []byte) (wrapped, body []byte, err error) {
	if len(sealed) < 3 || sealed[0] != sealWrapped {
		return nil, nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(sealed[1:3]))
	if n == 0 || len(sealed) < 3+n {
		return nil, nil, errMalformed
	}
	return sealed[3 : 3+n], sealed[3+n:], nil
}

// openWrapped opens a version-2 seal: its key is unwrapped by keyvault
// for the tenant of the principal in ctx (another tenant's principal, or
// any after a crypto-shred, unwraps nothing).
func (l *Logger) openWrapped(ctx context.Context, tenant, name string, sealed []byte) ([]byte, error) {
	wrapped, body, err := splitWrapped(sealed)
	if err != nil {
		return nil, err
	}
	plain, err := l.kms.Decrypt(ctx, wrapped, WrapContext(tenant))
	if err != nil {
		return nil, grpcerr.DataKey("unwrap the prompt's", err)
	}
	defer clear(plain)
	g, err := gcm(plain)
	if err != nil {
		return nil, err
	}
	n := g.NonceSize()
	if len(body) < n {
		return nil, errMalformed
	}
	pt, err := g.Open(nil, body[:n], body[n:], assistantPromptAAD(tenant, name))
	if err != nil {
		return nil, errWrongKey
	}
	return pt, nil
}

// gcm is AES-256-GCM under a 32-byte data key.
func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("prompt log: data key is not 256 bits")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("prompt log: %w", err)
	}
	return cipher.NewGCM(b)
}
