package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// lifecycle handles app_uninstalled and tokens_revoked for inst: Slack has
// already invalidated the bot token, so the installation is disabled (its
// events are dropped, its token is no longer refreshed) and the token is
// deleted from keyvault. A tokens_revoked event that names only user
// tokens (the adapter holds none) or other bots changes nothing.
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
	a.secrets.Invalidate(withTenant(ctx, inst.TenantID), inst.SecretName, "")
	tok, err := a.assertionFor(ctx, inst.TenantID)
	if err == nil {
		err = a.vault.Delete(ctx, tok, inst.SecretName)
	}
	if errors.Is(err, platform.ErrDeleteDenied) {
		// The token is overwritten; keyvault's policy keeps the secret.
		a.log.WarnContext(ctx, "revoked bot token overwritten, not deleted: grant slackadapter delete on its keyvault prefix", "tenant_id", inst.TenantID, "team_id", inst.TeamID)
		err = nil
	}
	if err != nil {
		// Slack revoked the token already, so what keyvault still holds is
		// dead; the installation stays disabled and Slack retries the event.
		return fmt.Errorf("delete bot token: %w", err)
	}
	a.secrets.Invalidate(withTenant(ctx, inst.TenantID), inst.SecretName, "")
	a.m.replies.WithLabelValues("uninstalled").Inc()
	a.log.InfoContext(ctx, "slack installation disabled", "tenant_id", inst.TenantID, "team_id", inst.TeamID, "reason", ev.Type)
	return nil
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
	a.mu.Unlock()
	a.log.InfoContext(ctx, "purged tenant's slack installations removed", "tenant_id", tenant)
	return nil
}
