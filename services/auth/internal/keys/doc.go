// Package keys is auth's domain: API key lifecycle and verification, tenants
// and members with roles, the audit trail and the event log other services
// watch. It knows nothing about gRPC: internal/server translates.
//
// Authorization model (enforced here, on top of the mTLS allow-list):
//   - Every management call acts as a [Caller] built from the verified
//     principal assertion; its tenant is the only tenant it can see.
//     Anything in another tenant is reported as ErrNotFound.
//   - "Tenant admin" = role owner or admin AND a key with scope admin. Tenant
//     admins manage the tenant's members, every key of the tenant and read
//     its audit. Owners alone grant, change or remove the owner role.
//   - Members manage their own keys; viewers can read but not create keys.
//   - A key's scopes never exceed its subject's role ceiling nor the
//     creating key's scopes; at verification the scopes are intersected with
//     the subject's current role, so a demotion takes effect at once.
//   - The platform admin is a tenant admin whose role is owner in the
//     bootstrap tenant; it alone creates, suspends, resumes and deletes
//     tenants and may read any tenant's audit.
package keys
