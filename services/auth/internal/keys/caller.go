package keys

import (
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
