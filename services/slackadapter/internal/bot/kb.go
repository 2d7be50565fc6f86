package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/collectioncheck"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// maxCollections matches inference's limit on rampart.collections.
const maxCollections = 8

// nameRule is the shape of a collection or assistant name (ingestion's and
// inference's rules are at least this strict; they decide the rest).
var nameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// checkBinding validates a binding's target: exactly one of an assistant
// or 1–8 collections.
func checkBinding(assistant string, collections []string) error {
	switch {
	case assistant != "" && len(collections) > 0:
		return grpcerr.Invalid("assistant", "bind either an assistant or collections, not both")
	case assistant == "" && len(collections) == 0:
		return grpcerr.Invalid("collections", "name an assistant or 1-8 collections")
	case assistant != "" && !nameRule.MatchString(assistant):
		return grpcerr.Invalid("assistant", "letters, digits, '.', '_', ':' or '-', at most 128")
	case len(collections) > maxCollections:
		return grpcerr.Invalid("collections", fmt.Sprintf("at most %d", maxCollections))
	}
	for i, c := range collections {
		if !nameRule.MatchString(c) {
			return grpcerr.Invalid(fmt.Sprintf("collections[%d]", i), "letters, digits, '.', '_', ':' or '-', at most 128")
		}
		if slices.Contains(collections[:i], c) {
			return grpcerr.Invalid(fmt.Sprintf("collections[%d]", i), "duplicate")
		}
	}
	return nil
}

// channelRule: Slack channel ids (C…, G…, D…); "" is the workspace.
var channelRule = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)

// SetBinding binds a workspace of the caller's tenant (channel "") or one
// of its channels to an assistant or collections. Tenant admins only; a
// team that is not a live installation of the tenant is NotFound.
func (a *Adapter) SetBinding(ctx context.Context, c Caller, b store.Binding) (store.Binding, error) {
	if !c.admin() {
		return store.Binding{}, fmt.Errorf("binding Slack needs role owner or admin and scope admin: %w", grpcerr.ErrPermissionDenied)
	}
	if b.TeamID == "" {
		return store.Binding{}, grpcerr.Invalid("team_id", "required")
	}
	if b.ChannelID != "" && !channelRule.MatchString(b.ChannelID) {
		return store.Binding{}, grpcerr.Invalid("channel_id", "a Slack channel id such as C0123ABCD, or empty for the whole workspace")
	}
	if err := checkBinding(b.Assistant, b.Collections); err != nil {
		return store.Binding{}, err
	}
	// The adapter's key answers the whole channel with it: an admin binds
	// only what her own key may use (authorization review 6). The name is
	// all the adapter knows of it (an assistant's model is inference's).
	if b.Assistant != "" && len(c.AllowedModels) > 0 && !slices.Contains(c.AllowedModels, b.Assistant) {
		return store.Binding{}, fmt.Errorf("assistant: this API key may not use the model %q, and a binding lets everyone in the channel use it: %w",
			b.Assistant, grpcerr.ErrPermissionDenied)
	}
	if err := a.checkWorkspace(ctx, c.TenantID, b.TeamID); err != nil {
		return store.Binding{}, err
	}
	if err := a.checkCollections(ctx, "", b.Collections); err != nil {
		return store.Binding{}, err
	}
	b.TenantID, b.UpdatedBy, b.UpdatedAt = c.TenantID, byTenantAdmin+c.Subject, a.now().Truncate(1e9)
	if err := a.st.PutBinding(ctx, b); errors.Is(err, store.ErrNotFound) {
		return store.Binding{}, workspaceNotFound(b.TeamID)
	} else if err != nil {
		return store.Binding{}, err
	}
	return b, nil
}

// checkWorkspace: team is a live installation of tenant, else NotFound
// (checked before the collections, so a wrong team is named as such;
// PutBinding checks again in the same statement as the write).
func (a *Adapter) checkWorkspace(ctx context.Context, tenant, team string) error {
	list, err := a.st.ListInstallations(ctx, tenant)
	if err != nil {
		return err
	}
	for _, in := range list {
		if in.TeamID == team && !in.Disabled() {
			return nil
		}
	}
	return workspaceNotFound(team)
}

// workspaceNotFound is the one answer for a team that is not a live
// installation of the caller's tenant, whether unknown, uninstalled or
// another tenant's (no existence leak). Binding before installing is the
// usual newcomer's slip, so it says what to run.
func workspaceNotFound(team string) error {
	return fmt.Errorf("slack workspace %q: %w (install the app there first: rampart slack install-url; "+
		"rampart slack installations lists your tenant's workspaces)", team, grpcerr.ErrNotFound)
}

// collectionsTimeout bounds the ListCollections call of a binding check.
const collectionsTimeout = 10 * time.Second

// checkCollections reports whether every one of names is a collection of
// the caller's tenant, asking ingestion (ListCollections) on the caller's
// principal (assertion, or "" for the one ctx forwards: an admin
// request's), so the tenant is the verified one's and another tenant's
// collection is as missing as one that does not exist.
// A missing one is InvalidArgument naming collections[i]; ingestion
// unreachable is Unavailable, so nothing naming unchecked collections is
// stored. A collection deleted later still fails at question time.
// params names each of names in the error (default "collections[i]").
func (a *Adapter) checkCollections(ctx context.Context, assertion string, names []string, params ...string) error {
	if len(names) == 0 {
		return nil
	}
	if a.ing == nil {
		return fmt.Errorf("document search is not configured, so collections cannot be bound: %w", grpcerr.ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, collectionsTimeout)
	defer cancel()
	return collectioncheck.Check(ctx, names, params, func(ctx context.Context) ([]string, error) {
		return a.ing.Collections(ctx, assertion)
	})
}

// Bindings lists the caller's tenant's bindings (of one team if set).
func (a *Adapter) Bindings(ctx context.Context, c Caller, team string) ([]store.Binding, error) {
	if c.TenantID == "" {
		return nil, grpcerr.ErrPermissionDenied
	}
	return a.st.ListBindings(ctx, c.TenantID, team)
}

// DeleteBinding removes a binding of the caller's tenant (tenant admins).
func (a *Adapter) DeleteBinding(ctx context.Context, c Caller, team, channel string) error {
	if !c.admin() {
		return fmt.Errorf("binding Slack needs role owner or admin and scope admin: %w", grpcerr.ErrPermissionDenied)
	}
	if err := a.st.DeleteBinding(ctx, c.TenantID, team, channel); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("binding of %q: %w", strings.TrimSuffix(team+"/"+channel, "/"), grpcerr.ErrNotFound)
	} else if err != nil {
		return err
	}
	return nil
}

// kb runs /rampart kb use|show|clear. use and clear need a workspace admin
// or owner (users.info); the answer is ephemeral.
func (a *Adapter) kb(ctx context.Context, inst store.Installation, j job) error {
	say := func(text string) error {
		return a.respond(ctx, j, false, slackapi.Message{Text: text})
	}
	channel := j.ev.Channel
	if j.cmd.workspace {
		channel = ""
	}
	where := "This channel"
	if channel == "" {
		where = "This workspace"
	}
	if j.cmd.sub == "show" {
		b, err := a.st.BindingFor(ctx, inst.TenantID, inst.TeamID, j.ev.Channel)
		if errors.Is(err, store.ErrNotFound) {
			return say("This channel is not bound: answers do not use your documents. A workspace admin runs `/rampart kb use <assistant | collection>`.")
		}
		if err != nil {
			return err
		}
		scope := "this channel"
		if b.ChannelID == "" {
			scope = "the workspace default"
		}
		return say("Answers here use " + describe(b) + " (" + scope + ").")
	}
	if why, err := a.slackAdminMay(ctx, inst, j, channel, where); err != nil || why != "" {
		if err != nil {
			return err
		}
		return say(why)
	}
	if j.cmd.sub == "clear" {
		err := a.st.DeleteBinding(ctx, inst.TenantID, inst.TeamID, channel)
		if errors.Is(err, store.ErrNotFound) {
			return say(where + " had no binding.")
		}
		if err != nil {
			return err
		}
		a.log.InfoContext(ctx, "slack binding cleared", "team_id", inst.TeamID, "channel_id", channel, "slack_user_id", j.ev.User)
		return say(where + " is no longer bound.")
	}
	b := store.Binding{TeamID: inst.TeamID, ChannelID: channel, TenantID: inst.TenantID,
		UpdatedBy: "slack:" + j.ev.User, UpdatedAt: a.now().Truncate(1e9)}
	// ADR 0097: a Slack admin binds only what the tenant's admins listed
	// for the workspace (checked on the names before kbTarget looks
	// anything up, and on the kind it found after).
	names := strings.Split(strings.Trim(j.cmd.arg, ","), ",")
	if why, err := a.bindable(ctx, inst, b, names); err != nil || why != "" {
		return a.offList(ctx, inst, j, why, err)
	}
	refused, err := a.kbTarget(ctx, &b, j.cmd.arg)
	if err != nil {
		return err
	}
	if refused != nil {
		return say("Not bound: " + refused.Error())
	}
	if why, err := a.bindable(ctx, inst, b, names); err != nil || why != "" {
		return a.offList(ctx, inst, j, why, err)
	}
	if err := a.st.PutBinding(ctx, b); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "slack binding set", "team_id", inst.TeamID, "channel_id", channel, "slack_user_id", j.ev.User,
		"assistant", b.Assistant, "collections", b.Collections)
	return say(where + " now answers from " + describe(b) + ".")
}

// byTenantAdmin prefixes the updated_by of a binding a tenant admin set
// (SetBinding); Slack admins' are "slack:<user>".
const byTenantAdmin = "rampart:"

// slackAdminMay tells the user of j why they may not change the binding
// of channel ("" when they may): only workspace admins change bindings
// from Slack, and not one a tenant admin set (tenantAdminsBinding).
func (a *Adapter) slackAdminMay(ctx context.Context, inst store.Installation, j job, channel, where string) (string, error) {
	bot, err := a.botToken(ctx, inst)
	if err != nil {
		return "", err
	}
	admin, err := a.slack.IsWorkspaceAdmin(ctx, bot.AccessToken, j.ev.User)
	if err != nil {
		return "", fmt.Errorf("users.info: %w", err)
	}
	if !admin {
		a.log.InfoContext(ctx, "kb change refused: not a workspace admin", "team_id", inst.TeamID, "user_id", j.ev.User)
		return "Only workspace admins and owners can change what Rampart answers from (tenant admins can also use `rampart slack bind`).", nil
	}
	// A tenant admin's binding is the tenant's decision: clearing a
	// channel's would make it answer from the workspace default, which
	// need not be on the list Slack may bind (authorization review 7).
	return a.tenantAdminsBinding(ctx, inst, channel, where)
}

// tenantAdminsBinding tells a Slack admin why the binding of exactly
// channel ("": the workspace default) of inst is not theirs to change
// ("" when it is): a tenant admin set it (SetBinding), and only tenant
// admins change it (authorization review 7).
func (a *Adapter) tenantAdminsBinding(ctx context.Context, inst store.Installation, channel, where string) (string, error) {
	b, err := a.st.BindingFor(ctx, inst.TenantID, inst.TeamID, channel)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil || b.ChannelID != channel || !strings.HasPrefix(b.UpdatedBy, byTenantAdmin) {
		return "", err
	}
	cmd := "rampart slack bind " + inst.TeamID
	if channel != "" {
		cmd += " --channel " + channel
	}
	return where + "'s binding was set by a Rampart tenant admin; only tenant admins change it (`" + cmd +
		" …` or `rampart slack unbind`).", nil
}

// kbTarget sets b's assistant or collections from /rampart kb use's
// argument, as b.TenantID's adapter key sees them: a single name the
// tenant can use as a model is an assistant, anything else collections,
// which must exist in the tenant (as for SetBinding). refused is why it
// cannot be bound (told to the user); err is a failure to find out.
func (a *Adapter) kbTarget(ctx context.Context, b *store.Binding, arg string) (refused, err error) {
	names := strings.Split(strings.Trim(arg, ","), ",")
	tok, err := a.assertionFor(ctx, b.TenantID)
	if err != nil {
		return nil, err
	}
	if len(names) == 1 {
		ok, err := a.inf.HasModel(ctx, tok, names[0])
		if err != nil {
			return nil, err
		}
		if ok {
			b.Assistant = names[0]
		}
	}
	if b.Assistant == "" {
		b.Collections = names
	}
	if err := checkBinding(b.Assistant, b.Collections); err != nil {
		return err, nil
	}
	if err := a.checkCollections(ctx, tok, b.Collections); err != nil {
		if status.Code(err) == codes.Canceled {
			return nil, err
		}
		return err, nil
	}
	return nil, nil
}

// offList tells the Slack admin why a kb use was refused (bindable).
func (a *Adapter) offList(ctx context.Context, inst store.Installation, j job, why string, err error) error {
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "kb change refused: not on the workspace's bindable list", "team_id", inst.TeamID, "user_id", j.ev.User)
	return a.respond(ctx, j, false, slackapi.Message{Text: "Not bound: " + why})
}

func describe(b store.Binding) string {
	if b.Assistant != "" {
		return "the assistant `" + b.Assistant + "`"
	}
	return "the collection" + map[bool]string{true: "s", false: ""}[len(b.Collections) > 1] + " `" + strings.Join(b.Collections, "`, `") + "`"
}
