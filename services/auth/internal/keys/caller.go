package keys

import (
	"context"
	"errors"
	"slices"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// Caller is who performs a management call, from the verified principal,
// plus request context for the audit record.
type Caller struct {
	TenantID  string
	KeyID     string
	Subject   string
	Role      store.Role
	Scopes    []string
	RequestID string
	SourceIP  string
	// ActsAsPredecessor: the call comes from keyvault's identity, whose
	// crash recovery rotates a key's replacement with the rotated-out key
	// (ADR 0009). Nobody else may act on a replacement as its predecessor:
	// a leaked key its holder rotated would take the new key over (ADR 0078
	// §3).
	ActsAsPredecessor bool
}

// System is the caller for background work (expiry, purge).
var System = Caller{Subject: "system"}

func (c Caller) actor() string {
	if c.KeyID == "" {
		return c.Subject
	}
	return "key:" + c.KeyID + "/" + c.Subject
}

// tenantAdmin: owner or admin holding the admin scope.
func (c Caller) tenantAdmin() bool {
	return (c.Role == store.RoleOwner || c.Role == store.RoleAdmin) && slices.Contains(c.Scopes, ScopeAdmin)
}

// Current returns c as the store sees it now: the calling key must still be
// live (active or in its rotation overlap, not expired) in an active tenant,
// its subject still a member, and the role and scopes are re-derived from
// the store. A principal is up to the edge's cache TTL (30 s) old and an
// assertion up to 5 minutes; without this, a principal minted before a
// demotion or revocation could still manage members — and re-promote its
// subject, undoing the demotion for good. Callers without a key (the
// system, the operator CLI) are returned unchanged. Every failure is the
// verification error ErrInvalidKey, as if the key were presented afresh.
func (s *Service) Current(ctx context.Context, c Caller) (Caller, error) {
	if c.KeyID == "" {
		return c, nil
	}
	ka, err := s.db.Q().KeyForVerify(ctx, c.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, ErrInvalidKey
	}
	if err != nil {
		return Caller{}, err
	}
	k := ka.Key
	live := (k.State == store.KeyActive || k.State == store.KeyRotating) && s.opt.Now().Before(k.ExpiresAt)
	if !live || k.TenantID != c.TenantID || k.Subject != c.Subject || ka.TenantState != store.TenantActive || ka.Role == 0 {
		return Caller{}, ErrInvalidKey
	}
	c.Role, c.Scopes = ka.Role, effectiveScopes(k.Scopes, ka.Role)
	return c, nil
}
