// Package keys is auth's domain: API key lifecycle and verification, tenants
// and members with roles, the audit trail and the event log other services
// watch. It knows nothing about gRPC: internal/server translates.
//
// Authorization model (enforced here, on top of the mTLS allow-list):
//   - Every management call acts as a [Caller] built from the verified
//     principal assertion; its tenant is the only tenant it can see.
//     Anything in another tenant is reported as ErrNotFound. The caller's
//     role and scopes are re-read from the store ([Service.Current]): the
//     calling key must still be live in an active tenant, so a principal
//     cached before a demotion, revocation or suspension manages nothing.
//   - "Tenant admin" = role owner or admin AND a key with scope admin. Tenant
//     admins manage the tenant's members, every key of the tenant and read
//     its audit. Owners alone grant, change or remove the owner role.
//   - The covering rule ([Covers], cover.go): a key may be created,
//     rotated, revoked or read by another key only when the calling key's
//     grant covers the target's — subject role not stronger, scopes a
//     subset (scope admin covers all), models and endpoints within, each
//     limit at most the caller's, expiry no later. Creating, rotating and
//     revoking also need scope keys:write (or admin). A key may always
//     rotate or revoke itself (keyvault's rotation acts as the key, ADR
//     0009); a replacement made by another key never outlives that key.
//   - Users see their own subject's keys' metadata; tenant admins also see
//     the keys they cover. Anything else is NotFound.
//   - A key's scopes never exceed its subject's role ceiling; at
//     verification the scopes are intersected with the subject's current
//     role, so a demotion takes effect at once.
//   - No change may strand a tenant: revoking the last live owner key
//     (an owner's key with scope admin), demoting or removing an owner so
//     that none remains is FailedPrecondition.
//   - Tenant limits (RPM, TPM, monthly budget, allowed models) are a tenant
//     record set by its owners or the platform admin; verification narrows
//     every key by them, and a key's own limits may only narrow them. A
//     key's budget is counted on its budget key, shared by a rotation's
//     replacement and by keys minted from a budgeted key.
//   - RecoverOwner (operator CLI over mTLS only) gives a tenant that lost
//     its owner keys a new one, audited in the tenant and platform chains.
//   - The platform admin is a tenant admin whose role is owner in the
//     bootstrap tenant; it alone creates, suspends, resumes and deletes
//     tenants and may read any tenant's audit.
package keys
