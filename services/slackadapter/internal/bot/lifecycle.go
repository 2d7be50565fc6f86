package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// lifecycle handles app_uninstalled and tokens_revoked for inst: Slack has
// already invalidated the bot token, so the installation is disabled (its
// events are dropped, its token is no longer refreshed, its notice token
// is deleted) and its token is recorded for deletion from keyvault, which
// is then tried at once. A tokens_revoked event that names only user
// tokens (the adapter holds none) or other bots changes nothing. A
// deletion that fails (the tenant suspended, keyvault down) stays
// recorded and is retried by SweepRevokedTokens every minute (ADR 0137);
// the event is answered 503 all the same, so Slack's retry tries too.
func (a *Adapter) lifecycle(ctx context.Context, inst store.Installation, ev event) error {
	if ev.Type == "tokens_revoked" && !slices.Contains(ev.Tokens.Bot, inst.BotUserID) && (inst.BotUserID != "" || len(ev.Tokens.Bot) == 0) {
		a.log.InfoContext(ctx, "tokens_revoked for other tokens ignored", "tenant_id", inst.TenantID, "team_id", inst.TeamID)
		return nil
	}
	// Disable first: whatever happens to the keyvault call, the
	// installation stops being used now.
	if err := a.st.DisableInstallation(ctx, inst.TenantID, inst.TeamID, a.now()); err != nil {
		return fmt.Errorf("disable installation: %w", err)
	}
	a.forgetNotice(inst.TeamID) // its notice token went with it
	a.m.replies.WithLabelValues("uninstalled").Inc()
	a.log.InfoContext(ctx, "slack installation disabled", "tenant_id", inst.TenantID, "team_id", inst.TeamID, "reason", ev.Type)
	return a.deleteRevoked(ctx, store.TokenDeletion{TeamID: inst.TeamID, TenantID: inst.TenantID, SecretName: inst.SecretName})
}

// deleteRevoked deletes a revoked bot token from its tenant's keyvault,
// under the team's token lease (a re-install or refresh writing the same
// secret holds it: a new token must not be deleted as the old one), and
// only while the installation is still disabled for that tenant.
func (a *Adapter) deleteRevoked(ctx context.Context, d store.TokenDeletion) error {
	lease, holder := tokenLease(d.TeamID), newHolder()
	ok, err := a.st.TryLease(ctx, lease, holder, a.now(), RefreshLease)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the workspace's token is being written (install or refresh); deletion retried later")
	}
	defer func() {
		if err := a.st.ReleaseLease(context.WithoutCancel(ctx), lease, holder); err != nil {
			a.log.WarnContext(ctx, "release token lease (it expires anyway)", "team_id", d.TeamID, "err", err)
		}
	}()
	cur, err := a.st.InstallationByTeam(ctx, d.TeamID, "")
	switch {
	case err == nil && cur.TenantID == d.TenantID && !cur.Disabled():
		// Installed again since: the secret holds the new token.
		return a.st.TokenDeleted(ctx, d.TenantID, d.TeamID)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	a.secrets.Invalidate(withTenant(ctx, d.TenantID), d.SecretName, "")
	tok, err := a.assertionFor(ctx, d.TenantID)
	if err == nil {
		err = a.vault.Delete(ctx, tok, d.SecretName)
	}
	if errors.Is(err, platform.ErrDeleteDenied) {
		// The token is overwritten; keyvault's policy keeps the secret.
		a.log.WarnContext(ctx, "revoked bot token overwritten, not deleted: grant slackadapter delete on its keyvault prefix", "tenant_id", d.TenantID, "team_id", d.TeamID)
		err = nil
	}
	if err != nil {
		// Slack revoked the token already, so what keyvault still holds is
		// dead; it stays recorded and is deleted when keyvault takes it.
		return fmt.Errorf("delete bot token: %w", err)
	}
	a.secrets.Invalidate(withTenant(ctx, d.TenantID), d.SecretName, "")
	if err := a.st.TokenDeleted(ctx, d.TenantID, d.TeamID); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "revoked slack bot token deleted from keyvault", "tenant_id", d.TenantID, "team_id", d.TeamID,
		"pending_since", d.Since)
	return nil
}

// SweepRevokedTokens deletes the revoked bot tokens whose deletion could
// not happen when Slack said so: a suspended tenant's once it is resumed,
// any once keyvault answers. A tenant that is not active is skipped
// quietly (its keyvault cannot be reached; deleted, keyvault shreds it).
func (a *Adapter) SweepRevokedTokens(ctx context.Context) error {
	ds, err := a.st.TokenDeletions(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ds {
		if _, err := a.assertionFor(ctx, d.TenantID); err != nil {
			if grpcerr.TenantNotActive(err) == "" {
				errs = append(errs, fmt.Errorf("team %s: %w", d.TeamID, err))
			}
			continue
		}
		if err := a.deleteRevoked(ctx, d); err != nil {
			errs = append(errs, fmt.Errorf("team %s: %w", d.TeamID, err))
		}
	}
	return errors.Join(errs...)
}

// PurgeTenant forgets a tenant auth has purged (pkg/tenantevents): its
// workspaces stop being answered and may be installed by another tenant.
// Idempotent.
func (a *Adapter) PurgeTenant(ctx context.Context, tenant string) error {
	if err := a.st.PurgeTenant(ctx, tenant); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.assertions, tenant)
	clear(a.notices) // a team's entry names its tenant; the next read stores it again
	a.mu.Unlock()
	a.log.InfoContext(ctx, "purged tenant's slack installations removed", "tenant_id", tenant)
	return nil
}
