package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// maxBindable bounds each list of a policy.
const maxBindable = 100

// SetPolicy sets what Slack users may do with a workspace of the caller's
// tenant (ADR 0097): what `/rampart kb use` may bind and whether users of
// other organisations are answered. Tenant admins only, as SetBinding; an
// assistant must be one the caller's key may use and a collection one of
// the tenant's, since a workspace admin binds them on the tenant's key.
// With etag (ADR 0112), the policy is replaced only if the stored one
// still has it (store.Policy.Etag), else Aborted with nothing written;
// without it, the replacement wins over whatever is stored.
func (a *Adapter) SetPolicy(ctx context.Context, c Caller, p store.Policy, etag string) (store.Policy, error) {
	if err := policyCaller(c, p.TeamID); err != nil {
		return store.Policy{}, err
	}
	if err := checkLists("", p, allPolicyFields); err != nil {
		return store.Policy{}, err
	}
	if err := a.checkWorkspace(ctx, c.TenantID, p.TeamID); err != nil {
		return store.Policy{}, err
	}
	if err := a.checkAdded(ctx, c, "", store.Policy{}, p); err != nil {
		return store.Policy{}, err
	}
	p.TenantID, p.UpdatedBy, p.UpdatedAt = c.TenantID, "rampart:"+c.Subject, a.now().Truncate(1e9)
	if etag != "" {
		// The compare-and-swap of UpdatePolicy, replacing every field: the
		// etag is checked against the policy the write replaces.
		return a.swapPolicy(ctx, c, p.TeamID, "etag", etag, func(store.Policy) (store.Policy, error) { return p, nil })
	}
	if err := a.st.PutPolicy(ctx, p); errors.Is(err, store.ErrNotFound) {
		return store.Policy{}, workspaceNotFound(p.TeamID)
	} else if err != nil {
		return store.Policy{}, err
	}
	return p, nil
}

// PolicyUpdate is a partial update of a workspace's policy
// (UpdateInstallationPolicy, ADR 0103).
type PolicyUpdate struct {
	TeamID string
	// Values holds the new values of the fields Mask names.
	Values store.Policy
	// Mask is the request's update_mask paths; none: the fields set in
	// Values (non-empty lists, a true flag), as AIP-134 says.
	Mask []string
	// Etag, when set, must be the stored policy's (store.Policy.Etag),
	// else the update is refused as aborted: the caller read a policy
	// that has changed since.
	Etag string
}

// The mask paths of a policy: the fields an update may set, and those
// the adapter sets (ignored in a mask, so a client may send back what it
// read). The JSON names are accepted too (`?updateMask=bindableCollections`).
const (
	fieldAssistants  = "bindable_assistants"
	fieldCollections = "bindable_collections"
	fieldExternal    = "allow_external_users"
)

var (
	allPolicyFields = map[string]bool{fieldAssistants: true, fieldCollections: true, fieldExternal: true}
	policyJSONNames = map[string]string{"bindableAssistants": fieldAssistants, "bindableCollections": fieldCollections,
		"allowExternalUsers": fieldExternal, "teamId": "team_id", "updatedBy": "updated_by", "updatedAt": "updated_at"}
	policyReadOnly = []string{"team_id", "etag", "updated_by", "updated_at"}
)

// policyMask is the set of fields mask names (see PolicyUpdate.Mask); an
// unknown path, or a mask that names nothing to change, is
// InvalidArgument naming update_mask.
func policyMask(mask []string, v store.Policy) (map[string]bool, error) {
	set := map[string]bool{}
	if len(mask) == 0 {
		set[fieldAssistants], set[fieldCollections], set[fieldExternal] =
			len(v.BindableAssistants) > 0, len(v.BindableCollections) > 0, v.AllowExternalUsers
	}
	for _, path := range mask {
		path = strings.TrimSpace(path)
		if n, ok := policyJSONNames[path]; ok {
			path = n
		}
		switch {
		case path == "*":
			maps.Copy(set, allPolicyFields)
		case allPolicyFields[path]:
			set[path] = true
		case slices.Contains(policyReadOnly, path):
		default:
			return nil, grpcerr.Invalidf("update_mask", "unknown field path %q: a policy's fields to update are %s, %s and %s (\"*\" for all three)",
				path, fieldAssistants, fieldCollections, fieldExternal)
		}
	}
	for _, on := range set {
		if on {
			return set, nil
		}
	}
	return nil, grpcerr.Invalidf("update_mask", "names no field to change: list %s, %s or %s", fieldAssistants, fieldCollections, fieldExternal)
}

// UpdatePolicy changes the fields of a workspace's policy that u names
// (ADR 0103), the others staying as stored; the callers and checks of
// SetPolicy, except that an assistant or collection is checked when it is
// added (keeping an entry is never refused because the caller's key may
// not use it, or because the collection was deleted since: removing it
// must stay possible). Concurrent updates keep each other's writes
// (store.UpdatePolicy); with u.Etag, a policy changed since it was read
// is not updated (Aborted).
func (a *Adapter) UpdatePolicy(ctx context.Context, c Caller, u PolicyUpdate) (store.Policy, error) {
	if err := policyCaller(c, u.TeamID); err != nil {
		return store.Policy{}, err
	}
	fields, err := policyMask(u.Mask, u.Values)
	if err != nil {
		return store.Policy{}, err
	}
	if err := checkLists("policy.", u.Values, fields); err != nil {
		return store.Policy{}, err
	}
	if err := a.checkWorkspace(ctx, c.TenantID, u.TeamID); err != nil {
		return store.Policy{}, err
	}
	return a.swapPolicy(ctx, c, u.TeamID, "policy.etag", u.Etag, func(cur store.Policy) (store.Policy, error) {
		next := cur
		if fields[fieldAssistants] {
			next.BindableAssistants = u.Values.BindableAssistants
		}
		if fields[fieldCollections] {
			next.BindableCollections = u.Values.BindableCollections
		}
		if fields[fieldExternal] {
			next.AllowExternalUsers = u.Values.AllowExternalUsers
		}
		if err := a.checkAdded(ctx, c, "policy.", cur, next); err != nil {
			return store.Policy{}, err
		}
		next.UpdatedBy, next.UpdatedAt = "rampart:"+c.Subject, a.now().Truncate(1e9)
		return next, nil
	})
}

// swapPolicy writes change's policy over team's stored one with the
// store's compare-and-swap (store.UpdatePolicy), refusing as Aborted
// when etag is set and is not the stored policy's (checked in the same
// round as the write, so it cannot pass on a policy that changes before
// it; the refusal names field, the etag's path in the request). An
// unknown or another tenant's workspace is NotFound.
func (a *Adapter) swapPolicy(ctx context.Context, c Caller, team, field, etag string, change func(cur store.Policy) (store.Policy, error)) (store.Policy, error) {
	p, err := a.st.UpdatePolicy(ctx, c.TenantID, team, func(cur store.Policy) (store.Policy, error) {
		if etag != "" && etag != cur.Etag() {
			return store.Policy{}, fmt.Errorf("%s: the workspace's policy changed since it was read; read it again "+
				"(GET /v1/slack/installations) and retry: %w", field, grpcerr.ErrAborted)
		}
		return change(cur)
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Policy{}, workspaceNotFound(team)
	case errors.Is(err, store.ErrConflict):
		return store.Policy{}, fmt.Errorf("the workspace's policy is being changed by other requests; retry: %w", grpcerr.ErrAborted)
	}
	return p, err
}

// policyCaller: a policy is set by tenant admins, of a named workspace.
func policyCaller(c Caller, team string) error {
	if !c.admin() {
		return fmt.Errorf("setting a Slack workspace's policy needs role owner or admin and scope admin: %w", grpcerr.ErrPermissionDenied)
	}
	if team == "" {
		return grpcerr.Invalid("team_id", "required")
	}
	return nil
}

// checkLists checks the form of p's lists that fields names: names of
// the bindable shape, no duplicates, at most maxBindable; errors name the
// field under prefix (the request's path of the policy).
func checkLists(prefix string, p store.Policy, fields map[string]bool) error {
	for field, names := range map[string][]string{fieldAssistants: p.BindableAssistants, fieldCollections: p.BindableCollections} {
		if !fields[field] {
			continue
		}
		if len(names) > maxBindable {
			return grpcerr.Invalid(prefix+field, fmt.Sprintf("at most %d", maxBindable))
		}
		for i, n := range names {
			if !nameRule.MatchString(n) {
				return grpcerr.Invalid(fmt.Sprintf("%s%s[%d]", prefix, field, i), "letters, digits, '.', '_', ':' or '-', at most 128")
			}
			if slices.Contains(names[:i], n) {
				return grpcerr.Invalid(fmt.Sprintf("%s%s[%d]", prefix, field, i), "duplicate")
			}
		}
	}
	return nil
}

// checkAdded checks what next lists that cur does not: an assistant must
// be one the caller's key may use (as SetBinding, ADR 0093 §4: what a
// Slack admin may bind, the tenant admin who lists it could bind
// herself), a collection one of the tenant's (ingestion, on the caller's
// principal).
func (a *Adapter) checkAdded(ctx context.Context, c Caller, prefix string, cur, next store.Policy) error {
	for _, as := range next.BindableAssistants {
		if len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, as) && !slices.Contains(cur.BindableAssistants, as) {
			return fmt.Errorf("%s%s: this API key may not use the model %q, and listing it lets Slack admins bind it: %w",
				prefix, fieldAssistants, as, grpcerr.ErrPermissionDenied)
		}
	}
	var added, params []string
	for i, n := range next.BindableCollections {
		if !slices.Contains(cur.BindableCollections, n) {
			added, params = append(added, n), append(params, fmt.Sprintf("%s%s[%d]", prefix, fieldCollections, i))
		}
	}
	return a.checkCollections(ctx, "", added, params...)
}

// Policy returns the caller's tenant's policy of team (the zero policy
// when none was set).
func (a *Adapter) Policy(ctx context.Context, c Caller, team string) (store.Policy, error) {
	if c.TenantID == "" {
		return store.Policy{}, grpcerr.ErrPermissionDenied
	}
	return a.st.PolicyFor(ctx, c.TenantID, team)
}

// bindable reports why /rampart kb use may not bind b in inst's
// workspace ("" when it may): the assistant, or every collection, must be
// on the tenant admins' list (ADR 0097). Asked first with names only
// (b.Assistant empty, names the argument: one name may be either kind),
// before anything is looked up, so a Slack admin learns nothing of what
// the tenant has beyond the list; then again once kbTarget decided which
// kind the name is.
func (a *Adapter) bindable(ctx context.Context, inst store.Installation, b store.Binding, names []string) (string, error) {
	p, err := a.st.PolicyFor(ctx, inst.TenantID, inst.TeamID)
	if err != nil {
		return "", err
	}
	var off []string
	flag := "--add-collection"
	switch {
	case b.Assistant != "":
		if !slices.Contains(p.BindableAssistants, b.Assistant) {
			off, flag = append(off, b.Assistant), "--add-assistant"
		}
	case len(b.Collections) > 0:
		names = b.Collections
		fallthrough
	default:
		for _, n := range names {
			either := len(b.Collections) == 0 && len(names) == 1 && slices.Contains(p.BindableAssistants, n)
			if !slices.Contains(p.BindableCollections, n) && !either {
				off = append(off, n)
			}
		}
	}
	if len(off) == 0 {
		return "", nil
	}
	// The team id is the workspace's own; naming it, and the names, hands
	// the tenant admin a command to run as it is.
	cmd := "rampart slack policy " + inst.TeamID
	for _, n := range off {
		cmd += " " + flag + " " + n
	}
	return "`" + strings.Join(off, "`, `") + "` is not on this workspace's list of what Slack may bind. " +
		"A Rampart tenant admin adds it (`" + cmd + "`, or PATCH /v1/slack/installations/" + inst.TeamID + "/policy) " +
		"or binds the channel (`rampart slack bind`).", nil
}
