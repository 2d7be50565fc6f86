package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// TestSuspendedWorkspaceIsTold (ADR 0123 §2): while a workspace's tenant
// is suspended, a mention and a slash command get a notice the asker alone
// sees (chat.postEphemeral; an ephemeral message at the response_url) that
// the workspace is suspended, instead of silence, and nothing reaches
// inference; once the tenant is resumed the bot answers again. Before, the
// failed verification of the adapter's key was only logged.
func TestSuspendedWorkspaceIsTold(t *testing.T) {
	h := grounded(t)
	require.Eventually(t, func() bool { return h.auth.Subscriptions() > 0 }, 30*time.Second, 10*time.Millisecond,
		"the adapter subscribes to auth's revocation stream")
	n := 0
	mention := func() {
		t.Helper()
		n++
		st, out := h.send(t, h.signed("/slack/events", "application/json",
			eventBody("T1", fmt.Sprintf("EvS%d", n), mentionEv("how often do VPN certificates rotate?", fmt.Sprintf("1800000030.%06d", n)))))
		require.Equal(t, http.StatusOK, st, out)
	}
	mention()
	h.final(t, recv(t, h.slack.Posts()))
	chats := len(h.inf.Calls())

	h.auth.SuspendTenant("t_acme")
	// The revocation event drops the cached assertion; a mention answered
	// from it before the event arrived is not what this test is about.
	require.Eventually(t, func() bool {
		mention()
		select {
		case p := <-h.slack.Posts():
			h.final(t, p)
			chats = len(h.inf.Calls())
			return false
		case e := <-h.slack.Ephemerals():
			require.Equal(t, "C42", e.Channel)
			require.Equal(t, "U123", e.User, "shown to the asker alone")
			require.Equal(t, fmt.Sprintf("1800000030.%06d", n), e.ThreadTS, "in the mention's thread")
			require.Contains(t, e.Text, "Rampart is suspended for this workspace")
			return true
		case <-time.After(5 * time.Second): // a hang guard
			t.Fatal("a mention of a suspended workspace got no answer")
			return false
		}
	}, 30*time.Second, 10*time.Millisecond)

	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"ask how often do VPN certificates rotate?"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/abc"}}
	st, out := h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st, out)
	r := recv(t, h.slack.Responses())
	require.Equal(t, "ephemeral", r.ResponseType)
	require.Contains(t, r.Text, "Rampart is suspended for this workspace")
	require.Len(t, h.inf.Calls(), chats, "nothing of a suspended tenant reaches inference")

	h.auth.ResumeTenant("t_acme")
	mention()
	h.final(t, recv(t, h.slack.Posts()))
	require.Greater(t, len(h.inf.Calls()), chats, "resumed, the bot answers again")
}

// TestSuspendedWorkspaceIsToldForTheWholeSuspension (ADR 0137): the notice
// of a mention, a direct message and a plain reply in the bot's thread
// keeps coming past the adapter's 5-minute secrets cache with the
// installation's notice token (which has no age: nothing in the path
// looks at the time but a rotating token's expiry), while
// nothing else of the tenant is used: no inference call, no thread read,
// no post or update. Before, past the cache the event was dropped without
// a word ("tenant_suspended_unnotified"). An app_uninstalled during the
// suspension takes the notice token with it at once and the bot token in
// keyvault once the tenant is resumed (before, it stayed there once
// Slack's retries were spent).
func TestSuspendedWorkspaceIsToldForTheWholeSuspension(t *testing.T) {
	h := grounded(t)
	h.bind(t, "t_acme", &slackadapterv1.SetBindingRequest{TeamId: "T1", Collections: []string{"handbook"}})
	// Signed within 5 minutes of both the service's clock (moved on by
	// h.later) and the wall clock (slack-go's verifier reads it), so the
	// clock may move on by at most about 9 minutes.
	at := func() time.Time { return h.now.Add(time.Duration(h.later.Load()) / 2) }
	n := 0
	send := func(ev map[string]any) string {
		t.Helper()
		n++
		st, out := h.send(t, h.signedAt(at(), "/slack/events", "application/json", eventBody("T1", fmt.Sprintf("EvW%d", n), ev)))
		return ackStatus(t, st, out)
	}
	ts := func() string { return fmt.Sprintf("18000000%02d.000100", 40+n) }
	root := ts()
	require.Equal(t, "accepted", send(mentionEv("how often do VPN certificates rotate?", root)))
	h.final(t, recv(t, h.slack.Posts()))
	chats, reads := len(h.inf.Calls()), h.slack.RepliesCalls()

	h.auth.SuspendTenant("t_acme")
	for _, into := range []time.Duration{6 * time.Minute, 9 * time.Minute} {
		// Past the assertion's and the secrets cache's lifetimes.
		h.later.Store(int64(into))
		m := ts()
		require.Equal(t, "accepted", send(mentionEv("still there?", m)))
		e := recv(t, h.slack.Ephemerals())
		require.Equal(t, "C42", e.Channel, into)
		require.Equal(t, "U123", e.User, "shown to the asker alone")
		require.Equal(t, m, e.ThreadTS, "in the mention's thread")
		require.Contains(t, e.Text, "Rampart is suspended for this workspace")
		require.True(t, h.slack.Valid(e.Token), "posted with the workspace's bot token")

		require.Equal(t, "accepted", send(threadReplyEv("U123", "and who renews them?", ts(), root)))
		e = recv(t, h.slack.Ephemerals())
		require.Equal(t, root, e.ThreadTS, "a plain reply in the bot's thread is told in that thread")
		require.Contains(t, e.Text, "Rampart is suspended for this workspace")

		dm := ts()
		require.Equal(t, "accepted", send(map[string]any{"type": "message", "channel_type": "im", "user": "U123", "text": "hello?", "channel": "D9", "ts": dm}))
		e = recv(t, h.slack.Ephemerals())
		require.Equal(t, "D9", e.Channel)
		require.Contains(t, e.Text, "Rampart is suspended for this workspace")
	}
	require.Len(t, h.inf.Calls(), chats, "nothing of a suspended tenant reaches inference")
	require.Equal(t, reads, h.slack.RepliesCalls(), "the thread is not read with the notice token")
	select {
	case p := <-h.slack.Posts():
		t.Fatalf("posted while suspended: %+v", p)
	case u := <-h.slack.Updates():
		t.Fatalf("updated while suspended: %+v", u)
	default:
	}

	// Uninstalled while suspended: the installation is disabled and its
	// notice token deleted at once; the bot token in keyvault cannot be
	// deleted before the tenant is resumed (Slack is answered 503 and
	// retries), and is then deleted by the sweep, not kept for ever.
	const secret = "/dev/slackadapter/bot-token/T1"
	st, out := h.send(t, h.signedAt(at(), "/slack/events", "application/json", eventBody("T1", "EvUninstall", map[string]any{"type": "app_uninstalled"})))
	require.Equal(t, http.StatusServiceUnavailable, st, out)
	require.Equal(t, "not_installed", send(mentionEv("anyone?", ts())))
	require.NoError(t, h.bot.SweepRevokedTokens(t.Context()), "a suspended tenant's deletion waits quietly")
	_, kept := h.vault.Value("t_acme", secret)
	require.True(t, kept, "keyvault is not reached while the tenant is suspended")
	h.auth.ResumeTenant("t_acme")
	require.NoError(t, h.bot.SweepRevokedTokens(t.Context()))
	_, kept = h.vault.Value("t_acme", secret)
	require.False(t, kept, "resumed: the revoked token is deleted")

	// Installed again: answered, and a later suspension is told with the
	// new installation's token; the finished deletion does not touch it.
	h.later.Store(int64(9*time.Minute + time.Second))
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})
	require.Equal(t, "accepted", send(mentionEv("how often do VPN certificates rotate?", ts())))
	p := recv(t, h.slack.Posts())
	h.final(t, p)
	require.NoError(t, h.bot.SweepRevokedTokens(t.Context()))
	_, kept = h.vault.Value("t_acme", secret)
	require.True(t, kept, "the new install's token stays")
	h.auth.SuspendTenant("t_acme")
	h.later.Store(int64(9*time.Minute + 2*time.Second))
	require.Equal(t, "accepted", send(mentionEv("still there?", ts())))
	e := recv(t, h.slack.Ephemerals())
	require.Equal(t, p.Token, e.Token, "the re-installed workspace's token")
}

// TestRotatingNoticeTokenIsNotUsedPastItsExpiry (ADR 0137): a rotating
// token is refreshed only with its refresh token, which stays in the
// suspended tenant's keyvault: the notice token is used until the access
// token expires, then the event is dropped without a call to Slack.
func TestRotatingNoticeTokenIsNotUsedPastItsExpiry(t *testing.T) {
	h := start(t, harnessOpts{model: "rampart-extractive", streamEvery: "0s", script: handbook, args: []string{"--refresh-before", "1m"}})
	h.configure(t)
	// Slack's rotating tokens live 12 hours; 8 minutes here, as the
	// signatures bound how far the clock moves (see above).
	h.slack.SetExpiresIn(8 * 60)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})
	at := func() time.Time { return h.now.Add(time.Duration(h.later.Load()) / 2) }
	mention := func(id, ts string) {
		t.Helper()
		st, out := h.send(t, h.signedAt(at(), "/slack/events", "application/json", eventBody("T1", id, mentionEv("still there?", ts))))
		require.Equal(t, "accepted", ackStatus(t, st, out))
	}
	h.auth.SuspendTenant("t_acme")
	h.later.Store(int64(6 * time.Minute))
	mention("EvR1", "1800000050.000100")
	require.Contains(t, recv(t, h.slack.Ephemerals()).Text, "Rampart is suspended for this workspace")

	h.later.Store(int64(9 * time.Minute))
	mention("EvR2", "1800000051.000100")
	// The one worker answers a slash command after the mention's job.
	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"ask anyone?"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/abc"}}
	st, out := h.send(t, h.signedAt(at(), "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st, out)
	require.Contains(t, recv(t, h.slack.Responses()).Text, "Rampart is suspended for this workspace")
	select {
	case e := <-h.slack.Ephemerals():
		t.Fatalf("an expired token was used: %+v", e)
	default:
	}
	require.Zero(t, h.slack.Refreshed(), "never refreshed while suspended")
}
