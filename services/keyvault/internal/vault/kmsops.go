package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

func validContext(field string, c map[string]string) error {
	if len(c) > 16 {
		return invalid(field, "at most 16 entries")
	}
	for k, v := range c {
		if k == "" || len(k) > 256 || len(v) > 1024 {
			return invalid(field, "keys must be 1-256 and values at most 1024 characters")
		}
	}
	return nil
}

func (s *Service) kmsOp(ctx context.Context, a Actor, action string, fn func() (string, error)) error {
	if err := s.authorize(ctx, a, policy.ActionKMS, ""); err != nil {
		return err
	}
	keyID, err := fn()
	if err != nil {
		switch {
		case errors.Is(err, kms.ErrShredded):
			err = errShredded
		case errors.Is(err, kms.ErrDecrypt):
			err = &Error{Kind: KindInvalid, Field: "ciphertext_blob", Msg: "does not decrypt for this tenant and encryption context"}
		}
		return s.auditFailure(ctx, a, action, "", err)
	}
	return s.record(ctx, a, audit.Record{Action: action, VersionID: keyID, Result: audit.ResultOK})
}

// GenerateDataKey returns a data key wrapped under the caller tenant's KEK.
func (s *Service) GenerateDataKey(ctx context.Context, a Actor, encCtx map[string]string) (kms.DataKey, error) {
	if err := validContext("encryption_context", encCtx); err != nil {
		return kms.DataKey{}, err
	}
	var dk kms.DataKey
	err := s.kmsOp(ctx, a, "GenerateDataKey", func() (string, error) {
		var err error
		dk, err = s.o.Envelope.Provider().GenerateDataKey(ctx, a.Tenant, encCtx)
		return dk.KeyID, err
	})
	return dk, err
}

// Decrypt unwraps a data key of the caller's tenant.
func (s *Service) Decrypt(ctx context.Context, a Actor, blob []byte, encCtx map[string]string) ([]byte, string, error) {
	if len(blob) == 0 || len(blob) > 4096 {
		return nil, "", invalid("ciphertext_blob", "required, at most 4096 bytes")
	}
	if err := validContext("encryption_context", encCtx); err != nil {
		return nil, "", err
	}
	var pt []byte
	var keyID string
	err := s.kmsOp(ctx, a, "Decrypt", func() (string, error) {
		var err error
		pt, keyID, err = s.o.Envelope.Provider().Decrypt(ctx, a.Tenant, blob, encCtx)
		return keyID, err
	})
	return pt, keyID, err
}

// ReEncrypt rewraps a data key under the tenant's current KEK version.
func (s *Service) ReEncrypt(ctx context.Context, a Actor, blob []byte, src, dst map[string]string) ([]byte, string, string, error) {
	if len(blob) == 0 || len(blob) > 4096 {
		return nil, "", "", invalid("ciphertext_blob", "required, at most 4096 bytes")
	}
	if err := validContext("source_encryption_context", src); err != nil {
		return nil, "", "", err
	}
	if err := validContext("destination_encryption_context", dst); err != nil {
		return nil, "", "", err
	}
	if len(dst) == 0 {
		dst = src
	}
	var out []byte
	var srcKey, dstKey string
	err := s.kmsOp(ctx, a, "ReEncrypt", func() (string, error) {
		p := s.o.Envelope.Provider()
		pt, k, err := p.Decrypt(ctx, a.Tenant, blob, src)
		if err != nil {
			return "", err
		}
		srcKey = k
		out, dstKey, err = rewrap(ctx, p, a.Tenant, pt, dst)
		return dstKey, err
	})
	return out, dstKey, srcKey, err
}

// rewrapper is implemented by providers that can wrap a given key.
type rewrapper interface {
	Wrap(ctx context.Context, tenant string, dk []byte, encCtx map[string]string) ([]byte, string, error)
}

func rewrap(ctx context.Context, p kms.Provider, tenant string, pt []byte, encCtx map[string]string) ([]byte, string, error) {
	w, ok := p.(rewrapper)
	if !ok {
		return nil, "", errors.New("provider cannot re-encrypt")
	}
	return w.Wrap(ctx, tenant, pt, encCtx)
}

// RotateKey makes a new KEK version for the caller's tenant.
func (s *Service) RotateKey(ctx context.Context, a Actor) (string, error) {
	if err := s.authorize(ctx, a, policy.ActionAdmin, "*"); err != nil {
		return "", err
	}
	id, err := s.o.Envelope.Provider().RotateTenantKey(ctx, a.Tenant)
	if err != nil {
		return "", s.auditFailure(ctx, a, "RotateKey", "", internal(err))
	}
	return id, s.record(ctx, a, audit.Record{Action: "RotateKey", VersionID: id, Result: audit.ResultOK})
}

// ShredResult reports a tenant crypto-shred.
type ShredResult = store.ShredResult

// validTenantID accepts the tenant ids auth issues (and the test ones):
// 1-128 characters of [A-Za-z0-9_-].
func validTenantID(id string) error {
	if id == "" || len(id) > 128 {
		return invalid("tenant_id", "required, at most 128 characters")
	}
	for _, c := range []byte(id) {
		ok := c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return invalid("tenant_id", "only letters, digits, '_' and '-' are allowed")
		}
	}
	return nil
}

// ShredTenant crypto-shreds a tenant: the KMS provider destroys its
// key-encryption keys, and the store erases its secrets, data keys and
// wrapped keys in one transaction (secure_delete), then compacts the file.
// Everything the tenant stored here, and every data key other services got
// from GenerateDataKey, becomes unreadable; no new key is ever made for it.
// It is idempotent (a repeat reports the first shred). Only operators and
// auth's purge reach it (TenantAdminService, and the tenant event watcher).
func (s *Service) ShredTenant(ctx context.Context, by, tenant string) (ShredResult, error) {
	if err := validTenantID(tenant); err != nil {
		return ShredResult{}, err
	}
	a := Actor{Tenant: tenant, Caller: by}
	if err := s.o.Envelope.Shred(ctx, tenant); err != nil {
		return ShredResult{}, s.auditFailure(ctx, a, "ShredTenant", "", internal(err))
	}
	res, err := s.o.Store.EraseTenant(ctx, tenant, s.now())
	if err != nil {
		return ShredResult{}, s.auditFailure(ctx, a, "ShredTenant", "", internal(err))
	}
	// Cached data keys may have been reloaded between the destroy and the
	// erase by a request in flight: drop them again.
	s.o.Envelope.Forget(tenant)
	// Ingestion and inference drop their copies of the tenant's data keys
	// (WatchShreds, ADR 0084).
	s.noteShred(ctx)
	if err := s.o.Store.Compact(ctx); err != nil {
		s.log.WarnContext(ctx, "tenant shred: database compaction incomplete; old row images may remain until the next one", "tenant_id", tenant, "err", err)
	}
	s.o.Metrics.shred()
	detail := fmt.Sprintf("secrets_erased=%d key_versions_destroyed=%d already=%t", res.SecretsErased, res.KeyVersionsCut, res.AlreadyErased)
	if err := s.record(ctx, a, audit.Record{Action: "ShredTenant", Result: audit.ResultOK, Detail: detail}); err != nil {
		return ShredResult{}, err
	}
	s.log.InfoContext(ctx, "tenant shredded", "tenant_id", tenant, "by", by, "secrets_erased", res.SecretsErased, "already", res.AlreadyErased)
	return res, nil
}
