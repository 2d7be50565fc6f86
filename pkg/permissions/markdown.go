package permissions

import (
	"fmt"
	"strings"
)

// Markers delimit the generated table in docs/security.md.
const (
	DocBegin = "<!-- permissions:begin (generated from pkg/permissions; go test ./pkg/permissions -run TestSecurityDoc -update) -->"
	DocEnd   = "<!-- permissions:end -->"
)

// Markdown renders the table for docs/security.md: the REST routes, then
// the gRPC methods with their callers.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("#### REST routes (edge)\n\n")
	b.WriteString("| Route | Scopes | Min role | Tenant | Rate class | Body limit | gRPC method | Notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range t.routes {
		role := r.MinRole.String()
		if r.Public {
			role = "—"
		}
		rpc := "—"
		if r.RPC != "" {
			rpc = "`" + strings.TrimPrefix(r.RPC, "/rampart.") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Key(), r.ScopesText(), role, r.Tenant, r.Rate, size(r.MaxBody), rpc, r.Note)
	}
	b.WriteString("\n#### gRPC methods (mTLS mesh)\n\n")
	b.WriteString("| Method | Callers | Principal | Tenant | Notes |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, r := range t.rpcs {
		principal := "no (service identity)"
		if r.Principal {
			principal = "yes"
		}
		note := r.Note
		if route, ok := t.RouteOf(r.Name); ok {
			note = strings.TrimSpace("via `" + route.Key() + "`; " + note)
			note = strings.TrimSuffix(note, ";")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n",
			strings.TrimPrefix(r.Name, "/rampart."), strings.Join(r.Callers, ", "), principal, r.Tenant, note)
	}
	return b.String()
}

func size(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d B", n)
}
