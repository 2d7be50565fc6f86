package bot

import (
	"context"
	"errors"
	"fmt"
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
func (a *Adapter) SetPolicy(ctx context.Context, c Caller, p store.Policy) (store.Policy, error) {
	if !c.admin() {
		return store.Policy{}, fmt.Errorf("setting a Slack workspace's policy needs role owner or admin and scope admin: %w", grpcerr.ErrPermissionDenied)
	}
	if p.TeamID == "" {
		return store.Policy{}, grpcerr.Invalid("team_id", "required")
	}
	for field, names := range map[string][]string{"bindable_assistants": p.BindableAssistants, "bindable_collections": p.BindableCollections} {
		if len(names) > maxBindable {
			return store.Policy{}, grpcerr.Invalid(field, fmt.Sprintf("at most %d", maxBindable))
		}
		for i, n := range names {
			if !nameRule.MatchString(n) {
				return store.Policy{}, grpcerr.Invalid(fmt.Sprintf("%s[%d]", field, i), "letters, digits, '.', '_', ':' or '-', at most 128")
			}
			if slices.Contains(names[:i], n) {
				return store.Policy{}, grpcerr.Invalid(fmt.Sprintf("%s[%d]", field, i), "duplicate")
			}
		}
	}
	for _, as := range p.BindableAssistants {
		// as SetBinding (ADR 0093 §4): what a Slack admin may bind, the
		// tenant admin who lists it could bind herself
		if len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, as) {
			return store.Policy{}, fmt.Errorf("bindable_assistants: this API key may not use the model %q, and listing it lets Slack admins bind it: %w",
				as, grpcerr.ErrPermissionDenied)
		}
	}
	if err := a.checkWorkspace(ctx, c.TenantID, p.TeamID); err != nil {
		return store.Policy{}, err
	}
	if err := a.checkCollections(ctx, "", p.BindableCollections); err != nil {
		return store.Policy{}, err
	}
	p.TenantID, p.UpdatedBy, p.UpdatedAt = c.TenantID, "rampart:"+c.Subject, a.now().Truncate(1e9)
	if err := a.st.PutPolicy(ctx, p); errors.Is(err, store.ErrNotFound) {
		return store.Policy{}, workspaceNotFound(p.TeamID)
	} else if err != nil {
		return store.Policy{}, err
	}
	return p, nil
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
	switch {
	case b.Assistant != "":
		if !slices.Contains(p.BindableAssistants, b.Assistant) {
			off = append(off, "`"+b.Assistant+"`")
		}
	case len(b.Collections) > 0:
		names = b.Collections
		fallthrough
	default:
		for _, n := range names {
			either := len(b.Collections) == 0 && len(names) == 1 && slices.Contains(p.BindableAssistants, n)
			if !slices.Contains(p.BindableCollections, n) && !either {
				off = append(off, "`"+n+"`")
			}
		}
	}
	if len(off) == 0 {
		return "", nil
	}
	// The team id is the workspace's own; naming it lets the Slack admin
	// hand the tenant admin a command to run.
	return strings.Join(off, ", ") + " is not on this workspace's list of what Slack may bind. " +
		"A Rampart tenant admin sets the list (`rampart slack policy " + inst.TeamID + " --collection …`, " +
		"or PUT /v1/slack/installations/" + inst.TeamID + "/policy) or binds the channel (`rampart slack bind`).", nil
}
