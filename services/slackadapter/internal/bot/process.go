package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// job is one accepted event or slash command.
type job struct {
	// tenant and team are the installation the request was routed to
	// (checked against the request's teams before the ack).
	tenant, team, eventID string
	responseURL           string // slash commands
	cmd                   command
	ev                    event
	// checkOrg: the writer is of another workspace than an org-wide
	// installation's event named; answered only if users.info puts them in
	// the installation's organisation (ADR 0097 §3).
	checkOrg bool
}

// processTimeout bounds one job (inference plus Slack, retries included).
const processTimeout = 2 * time.Minute

func (a *Adapter) process(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	// A bug met by one job must not stop the worker pool (a panic in a
	// worker ends the process: every tenant's bot goes silent). Logged
	// with its stack, never its value unless the runtime's own (a value
	// could carry anything), and told to a slash command's asker.
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		what := fmt.Sprintf("%T", r)
		if re, ok := r.(runtime.Error); ok {
			what = re.Error()
		}
		a.m.replies.WithLabelValues("error").Inc()
		a.log.ErrorContext(ctx, "slack job panicked", "team_id", j.team, "event_id", j.eventID, "kind", j.ev.Type,
			"panic", what, "stack", string(debug.Stack()))
		a.tellFailure(ctx, j, errPanicked)
	}()
	if err := a.handle(ctx, j); err != nil {
		a.m.replies.WithLabelValues("error").Inc()
		a.log.WarnContext(ctx, "slack job failed", "team_id", j.team, "event_id", j.eventID, "kind", j.ev.Type, "err", err)
		a.tellFailure(ctx, j, err)
	}
}

// errPanicked is a job that panicked.
var errPanicked = errors.New("slack job panicked")

// commandFailed is what a slash command that failed on Rampart's side
// answers: never the error (it may name internals), never silence.
const commandFailed = "Sorry, something went wrong on Rampart's side and I could not do that. Please try again in a minute."

// tellFailure answers a slash command whose job failed before it
// responded (the asker saw only the ack): at its response_url, which needs
// no token, so even a revoked adapter key or an unreadable bot token is
// answered. An event's failure is told in its placeholder (reply); before
// the placeholder there is no bot token to post with.
func (a *Adapter) tellFailure(ctx context.Context, j job, err error) {
	if j.responseURL == "" || errors.Is(err, errUndelivered) {
		return
	}
	if rerr := a.respond(ctx, j, false, slackapi.Message{Text: commandFailed}); rerr != nil {
		a.log.WarnContext(ctx, "slack failure notice not delivered", "team_id", j.team, "err", rerr)
	}
}

func (a *Adapter) handle(ctx context.Context, j job) error {
	inst, err := a.st.InstallationByTeam(ctx, j.team, "")
	// Re-checked: the workspace may have been uninstalled (or installed
	// for another tenant) since the ack.
	if errors.Is(err, store.ErrNotFound) || (err == nil && (inst.Disabled() || inst.TenantID != j.tenant)) {
		a.m.replies.WithLabelValues("not_installed").Inc()
		return nil
	}
	if err != nil {
		return err
	}
	ctx = logging.WithTenantID(ctx, inst.TenantID)
	if j.ev.User != "" && j.ev.User == inst.BotUserID {
		a.m.replies.WithLabelValues("self").Inc()
		return nil // our own message
	}
	// A suspended or deleted tenant's workspace is told so, not met with
	// silence (ADR 0123 §2); other failures of the key are the paths' own.
	// Asked first: the writer check below reads the bot token, which a
	// suspended tenant's workspace may not use for anything but the
	// notice (ADR 0137), so a writer whose organisation is unknown is
	// not told.
	if _, err := a.assertionFor(ctx, inst.TenantID); err != nil {
		if reason := grpcerr.TenantNotActive(err); reason != "" {
			if j.checkOrg {
				a.m.replies.WithLabelValues("tenant_suspended_unnotified").Inc()
				a.log.InfoContext(ctx, "slack event of a tenant not active dropped: writer of another workspace", "team_id", inst.TeamID,
					"event_id", j.eventID, "reason", reason)
				return nil
			}
			return a.notActive(ctx, inst, j, reason)
		}
	}
	if j.checkOrg {
		if own, err := a.ownOrg(ctx, inst, j.ev.User); err != nil || !own {
			a.m.replies.WithLabelValues("external_user").Inc()
			a.log.InfoContext(ctx, "slack event from another organisation's user dropped", "team_id", inst.TeamID,
				"user_team", j.ev.UserTeam, "err", err)
			return nil
		}
	}
	if j.cmd.kind == cmdKB {
		return a.kb(ctx, inst, j)
	}
	return a.reply(ctx, inst, j)
}

// notActive answers a request of a workspace whose tenant is suspended or
// deleted with a notice the asker alone sees: a slash command's at its
// response_url (always possible), a mention's or direct message's with
// chat.postEphemeral and the installation's notice token (ADR 0137; the
// bot token in keyvault is not read: a suspended tenant's secrets are
// not). Without one (never kept, or a rotating token past its expiry) the
// event is dropped, logged and counted ("tenant_suspended_unnotified").
// Nothing reaches inference, and Slack is called for nothing else.
func (a *Adapter) notActive(ctx context.Context, inst store.Installation, j job, reason string) error {
	msg := slackapi.Message{Text: suspendedNotice}
	if reason == grpcerr.ReasonTenantDeleted {
		msg.Text = deletedNotice
	}
	if j.responseURL != "" {
		if err := a.respond(ctx, j, false, msg); err != nil {
			return err
		}
		a.m.replies.WithLabelValues("tenant_suspended").Inc()
		a.log.InfoContext(ctx, "slack request of a tenant not active refused", "team_id", inst.TeamID, "reason", reason)
		return nil
	}
	token, err := a.noticeToken(ctx, inst)
	if err != nil {
		a.m.replies.WithLabelValues("tenant_suspended_unnotified").Inc()
		a.log.InfoContext(ctx, "slack event of a tenant not active dropped: no notice token to tell the user with", "team_id", inst.TeamID,
			"event_id", j.eventID, "reason", reason, "err", err)
		return nil
	}
	thread := j.ev.ThreadTS
	if thread == "" {
		thread = j.ev.TS
	}
	if err := a.slack.PostEphemeral(ctx, token, j.ev.Channel, j.ev.User, thread, msg); err != nil {
		return err
	}
	a.m.replies.WithLabelValues("tenant_suspended").Inc()
	a.log.InfoContext(ctx, "slack event of a tenant not active refused", "team_id", inst.TeamID, "event_id", j.eventID, "reason", reason)
	return nil
}

// The notices a workspace's users get while its tenant is not active.
const (
	suspendedNotice = "Rampart is suspended for this workspace, so I cannot answer right now. " +
		"A Rampart platform administrator can resume it; please ask your Rampart administrator."
	deletedNotice = "Rampart is no longer available for this workspace: its Rampart tenant was deleted. " +
		"Please ask your Rampart administrator."
)

var mention = regexp.MustCompile(`<@[A-Z0-9]+(\|[^>]*)?>`)

// cleanText drops user mentions (the bot's own) from the question.
func cleanText(text string) string {
	return strings.TrimSpace(mention.ReplaceAllString(text, ""))
}

// MaxQuestion bounds what is sent to inference.
const MaxQuestion = 8000

// respond answers a slash command at its response_url.
func (a *Adapter) respond(ctx context.Context, j job, inChannel bool, msg slackapi.Message) error {
	if err := a.slack.Respond(ctx, j.responseURL, inChannel, msg); err != nil {
		return fmt.Errorf("%w: %w", errUndelivered, err)
	}
	return nil
}
