package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/platform"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// The Slack app is deployment configuration: no tenant caller (owner with
// scope admin included) may set or read it; the operator's CLI identity
// may; its secrets go to no tenant's keyvault.
func TestAppIsOperatorConfiguration(t *testing.T) {
	h := start(t, harnessOpts{})
	req := &slackadapterv1.ConfigureAppRequest{ClientId: clientID, ClientSecret: clientSecret, SigningSecret: signingSecret}
	tenantCallers := map[string]context.Context{
		"owner with scope admin": h.admin(t, "t_acme"),
		"admin with scope admin": h.as(t, "t_acme", []string{"admin"}, []string{"admin"}),
		"member":                 h.as(t, "t_acme", []string{"member"}, []string{"chat:write"}),
		"no principal":           context.Background(),
	}
	for name, ctx := range tenantCallers {
		t.Run(name, func(t *testing.T) {
			_, err := h.client.ConfigureApp(ctx, req)
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), "rampart slack app set")
			_, err = h.client.GetApp(ctx, &slackadapterv1.GetAppRequest{})
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
		})
	}
	_, err := h.cli.GetApp(context.Background(), &slackadapterv1.GetAppRequest{})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "nothing configured yet")

	// The operator: bad input is named, then the app is set.
	_, err = h.cli.ConfigureApp(context.Background(), &slackadapterv1.ConfigureAppRequest{ClientId: clientID, SigningSecret: "z"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "client_secret")
	resp, err := h.cli.ConfigureApp(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, clientID, resp.GetClientId())
	app, err := h.cli.GetApp(context.Background(), &slackadapterv1.GetAppRequest{})
	require.NoError(t, err)
	require.Equal(t, clientID, app.GetClientId())
	require.Equal(t, resp.GetUpdatedAt(), app.GetUpdatedAt())

	// Signed requests verify with the operator's signing secret, and no
	// tenant holds (or could read) the app's secrets.
	st, _ := h.send(t, h.signed("/slack/events", "application/json", []byte(`{"type":"url_verification","challenge":"c"}`)))
	require.Equal(t, http.StatusOK, st)
	require.Empty(t, h.vault.Names(), "no app secret in any tenant's keyvault")
	require.Empty(t, createdTenants(h.auth), "setting the app creates no tenant key")
	h.forbidInLogs(clientSecret, signingSecret)
}

// Deleting a tenant (its keys stop verifying, its keyvault data is
// shredded) stops that tenant's workspace only.
func TestTenantDeletionLeavesOthersWorking(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	h.install(t, "t_beta", slackfake.Grant{TeamID: "T2", BotUserID: "UBOT2"})
	// The first installer is gone: every key fails, its secrets shredded.
	h.auth.DeleteTenant("t_acme")
	h.vault.DropTenant("t_acme")

	st, out := h.send(t, h.signed("/slack/events", "application/json", []byte(`{"type":"url_verification","challenge":"c"}`)))
	require.Equal(t, http.StatusOK, st, "signatures still verify: the app belongs to no tenant: %s", out)
	st, _ = h.send(t, h.signed("/slack/events", "application/json", eventBody("T2", "Ev2", mentionEv("still here?", "5.1"))))
	require.Equal(t, http.StatusOK, st)
	p := recv(t, h.slack.Posts())
	require.Equal(t, "5.1", p.ThreadTS, "the other tenant's workspace is answered")
	require.Contains(t, h.final(t, p).Text, "still here?")
	// Installing still works for a live tenant.
	h.install(t, "t_gamma", slackfake.Grant{TeamID: "T3", BotUserID: "UBOT3"})

	// Once auth purges the deleted tenant (its event stream), its
	// workspace is forgotten and another tenant may install it.
	h.ing.Add("t_beta", "kb")
	_, err := h.client.SetBinding(h.admin(t, "t_beta"), &slackadapterv1.SetBindingRequest{TeamId: "T2", Collections: []string{"kb"}})
	require.NoError(t, err)
	h.auth.PublishTenantEvent(authv1.TenantEventKind_TENANT_EVENT_KIND_PURGED, "t_acme")
	require.Eventually(t, func() bool {
		list, err := h.client.ListInstallations(h.admin(t, "t_acme"), &slackadapterv1.ListInstallationsRequest{})
		return err == nil && len(list.GetInstallations()) == 0
	}, 10*time.Second, 20*time.Millisecond)
	h.install(t, "t_delta", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	beta, err := h.client.ListBindings(h.admin(t, "t_beta"), &slackadapterv1.ListBindingsRequest{})
	require.NoError(t, err)
	require.Len(t, beta.GetBindings(), 1, "other tenants' bindings are untouched")
}

func lifecycleBody(team, eventID string, ev map[string]any) []byte {
	return eventBody(team, eventID, ev)
}

func TestUninstallAndTokensRevoked(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T2", BotUserID: "UBOT2"})
	const name1, name2 = "/dev/slackadapter/bot-token/T1", "/dev/slackadapter/bot-token/T2"
	list := func() map[string]int64 {
		resp, err := h.client.ListInstallations(h.admin(t, "t_acme"), &slackadapterv1.ListInstallationsRequest{})
		require.NoError(t, err)
		out := map[string]int64{}
		for _, in := range resp.GetInstallations() {
			out[in.GetTeamId()] = in.GetDisabledAt()
		}
		return out
	}

	// tokens_revoked for user tokens only, or for another bot: nothing changes.
	for i, tokens := range []map[string]any{{"oauth": []string{"U1"}}, {"bot": []string{"UOTHER"}}} {
		st, out := h.send(t, h.signed("/slack/events", "application/json", lifecycleBody("T1", "EvR"+string(rune('a'+i)), map[string]any{"type": "tokens_revoked", "tokens": tokens})))
		require.Equal(t, http.StatusOK, st, out)
	}
	require.Equal(t, map[string]int64{"T1": 0, "T2": 0}, list())
	_, ok := h.vault.Value("t_acme", name1)
	require.True(t, ok)

	// app_uninstalled: T1 disabled, its token deleted from keyvault.
	st, out := h.send(t, h.signed("/slack/events", "application/json", lifecycleBody("T1", "EvU", map[string]any{"type": "app_uninstalled"})))
	require.Equal(t, http.StatusOK, st, out)
	require.NotZero(t, list()["T1"])
	_, ok = h.vault.Value("t_acme", name1)
	require.False(t, ok, "the bot token is deleted from keyvault")

	// tokens_revoked naming our bot, with keyvault's default policy (no
	// delete for the adapter): T2 disabled, its value overwritten.
	h.vault.DenyDeletes(true)
	st, out = h.send(t, h.signed("/slack/events", "application/json", lifecycleBody("T2", "EvT", map[string]any{"type": "tokens_revoked", "tokens": map[string]any{"bot": []string{"UBOT2"}}})))
	require.Equal(t, http.StatusOK, st, out)
	require.NotZero(t, list()["T2"])
	v, _ := h.vault.Value("t_acme", name2)
	require.Equal(t, platform.Tombstone, v, "no live version holds the revoked token")

	// A disabled workspace is not answered; a mention is "not_installed".
	st, out = h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvM", mentionEv("anyone?", "6.0"))))
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, out, "not_installed")
	form := url.Values{"team_id": {"T2"}, "command": {"/rampart"}, "text": {"hi"}, "user_id": {"U1"}, "channel_id": {"C1"},
		"response_url": {h.slack.URL + "/hooks/commands/T2/1/x"}}
	st, out = h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, out, "not installed")

	// Re-installing re-enables the workspace and stores a fresh token.
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	require.Zero(t, list()["T1"])
	st, _ = h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvM2", mentionEv("back?", "6.1"))))
	require.Equal(t, http.StatusOK, st)
	p := recv(t, h.slack.Posts())
	require.Equal(t, "6.1", p.ThreadTS)
	require.True(t, h.slack.Valid(p.Token))

	// A workspace that uninstalled may be installed by another tenant.
	h.install(t, "t_beta", slackfake.Grant{TeamID: "T2", BotUserID: "UBOT2"})
	beta, err := h.client.ListInstallations(h.admin(t, "t_beta"), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	require.Len(t, beta.GetInstallations(), 1)
	require.NotContains(t, list(), "T2")
}

// An event whose teams do not all belong to the tenant its team_id routes
// to is refused and never answered.
func TestTeamMismatchRefused(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	h.install(t, "t_beta", slackfake.Grant{TeamID: "T2", BotUserID: "UBOT2"})
	withAuth := func(team, eventID, authTeam string) []byte {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": team, "api_app_id": "A1", "event_id": eventID,
			"event":          mentionEv("whose bill?", "7.0"),
			"authorizations": []map[string]any{{"team_id": authTeam, "user_id": "UBOT", "is_bot": true}}})
		return b
	}
	st, out := h.send(t, h.signed("/slack/events", "application/json", withAuth("T1", "EvX", "T2")))
	require.Equal(t, http.StatusForbidden, st, out)
	require.Contains(t, out, "team_id")
	st, out = h.send(t, h.signed("/slack/events", "application/json", withAuth("T1", "EvY", "T404")))
	require.Equal(t, http.StatusForbidden, st, out)
	// Matching authorizations are answered.
	st, out = h.send(t, h.signed("/slack/events", "application/json", withAuth("T1", "EvZ", "T1")))
	require.Equal(t, http.StatusOK, st, out)
	p := recv(t, h.slack.Posts())
	require.Equal(t, "C42", p.Channel)
	select {
	case extra := <-h.slack.Posts():
		t.Fatalf("a refused event was answered: %+v", extra)
	default:
	}
	require.True(t, strings.Contains(h.logs.String(), "team does not match"))
}

// A signed slash command delivered again inside its 5-minute window is a
// replay: refused, answered once, billed once.
func TestSlashCommandReplayRefused(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"ask what is the VPN policy"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/abc"}}
	req := h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()))
	st, out := h.send(t, req)
	require.Equal(t, http.StatusOK, st, out)
	for range 3 {
		st, out = h.send(t, req)
		require.Equal(t, http.StatusConflict, st, out)
		require.Contains(t, out, "replayed")
	}
	recv(t, h.slack.Responses())
	select {
	case extra := <-h.slack.Responses():
		t.Fatalf("a replay was answered: %q", extra)
	default:
	}
	// A new request (new timestamp → new signature) is answered.
	st, _ = h.send(t, h.signedAt(h.now.Add(-time.Second), "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st)
	recv(t, h.slack.Responses())
}

// TestExternalUsersAreNotAnswered (ADR 0069 §4): in a Slack Connect
// channel shared with another organisation, that organisation's users can
// mention the bot; their events carry their own workspace as user_team.
// They are not members of the installing workspace, and answering them
// handed the tenant's knowledge base (and budget) to another company.
// Such events are acknowledged and dropped; the workspace's own users and
// direct messages from them are answered as before.
func TestExternalUsersAreNotAnswered(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	send := func(eventID string, ev map[string]any) (int, string) {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": eventID,
			"is_ext_shared_channel": true, "event": ev, "authorizations": []map[string]any{{"team_id": "T1", "user_id": "UBOT1", "is_bot": true}}})
		return h.send(t, h.signed("/slack/events", "application/json", b))
	}
	external := mentionEv("what is in the board minutes?", "8.0")
	external["user_team"], external["source_team"] = "TOTHERCO", "TOTHERCO"
	st, out := send("EvExt1", external)
	require.Equal(t, http.StatusOK, st, out)
	require.Contains(t, out, "external_user")
	dm := map[string]any{"type": "message", "channel_type": "im", "user": "U999", "user_team": "TOTHERCO", "text": "board minutes?", "channel": "D1", "ts": "8.1"}
	st, out = send("EvExt2", dm)
	require.Equal(t, http.StatusOK, st, out)
	require.Contains(t, out, "external_user")

	own := mentionEv("what is the VPN policy?", "8.2")
	own["user_team"], own["source_team"] = "T1", "TOTHERCO"
	st, out = send("EvOwn", own)
	require.Equal(t, http.StatusOK, st, out)
	p := recv(t, h.slack.Posts())
	require.Equal(t, "C42", p.Channel)
	require.Equal(t, "8.2", p.ThreadTS, "only the workspace's own user is answered")
	select {
	case extra := <-h.slack.Posts():
		t.Fatalf("an external user was answered: %+v", extra)
	case <-time.After(200 * time.Millisecond):
	}
}

// ADR 0097 §3: on an org-wide (Enterprise Grid) installation a writer of
// another workspace is answered only when Slack's users.info puts them in
// the installation's organisation; another organisation's user in a Slack
// Connect channel is not, until a tenant admin allows external users.
func TestExternalUsersOnOrgWideInstallations(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{EnterpriseID: "E1", BotUserID: "UBOT1"})
	send := func(eventID, user, userTeam, ts string) (int, string) {
		ev := mentionEv("what is in the board minutes?", ts)
		ev["user"], ev["user_team"], ev["source_team"] = user, userTeam, userTeam
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "enterprise_id": "E1", "api_app_id": "A1",
			"event_id": eventID, "is_ext_shared_channel": true, "event": ev,
			"authorizations": []map[string]any{{"enterprise_id": "E1", "is_enterprise_install": true, "user_id": "UBOT1", "is_bot": true}}})
		// Signed on the adapter's clock, which the test moves on.
		return h.send(t, h.signedAt(h.now.Add(time.Duration(h.later.Load())), "/slack/events", "application/json", b))
	}
	noPost := func(why string) {
		t.Helper()
		select {
		case extra := <-h.slack.Posts():
			t.Fatalf("%s: %+v", why, extra)
		case <-time.After(300 * time.Millisecond):
		}
	}
	h.slack.SetOrg("UOUT", "E2")
	h.slack.SetOrg("UORG", "E1")

	st, out := send("EvOut1", "UOUT", "TOTHERCO", "9.0")
	require.Equal(t, http.StatusOK, st, out)
	noPost("another organisation's user was answered")
	st, out = send("EvNoOrg", "UNOORG", "TFREE", "9.1")
	require.Equal(t, http.StatusOK, st, out)
	noPost("a user of no organisation was answered")

	st, out = send("EvOrg", "UORG", "T2", "9.2")
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, "9.2", recv(t, h.slack.Posts()).ThreadTS, "a user of another workspace of the organisation is its own")

	// Each writer's answer is remembered (bot.OrgCacheTTL for a member,
	// the shorter bot.OrgCacheNegativeTTL for a non-member): a
	// conversation costs one users.info call per TTL, not one per message.
	calls := h.slack.UserInfoCalls()
	require.Equal(t, 3, calls, "one users.info per writer so far")
	st, out = send("EvOrg2", "UORG", "T2", "9.21")
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, "9.21", recv(t, h.slack.Posts()).ThreadTS)
	st, out = send("EvOut1b", "UOUT", "TOTHERCO", "9.22")
	require.Equal(t, http.StatusOK, st, out)
	noPost("a remembered non-member was answered")
	require.Equal(t, calls, h.slack.UserInfoCalls(), "both answers came from the cache")
	// Past the negative TTL the non-member is asked about again (and
	// still refused); the member, within its TTL, is not.
	h.later.Store(int64(bot.OrgCacheNegativeTTL + time.Second))
	st, out = send("EvOut1c", "UOUT", "TOTHERCO", "9.23")
	require.Equal(t, http.StatusOK, st, out)
	noPost("another organisation's user was answered after the negative TTL")
	st, out = send("EvOrg3", "UORG", "T2", "9.24")
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, "9.24", recv(t, h.slack.Posts()).ThreadTS)
	require.Equal(t, calls+1, h.slack.UserInfoCalls(), "only the non-member was asked again")
	// Past the member's TTL it is asked again too.
	h.later.Store(int64(bot.OrgCacheTTL + time.Second))
	st, out = send("EvOrg4", "UORG", "T2", "9.25")
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, "9.25", recv(t, h.slack.Posts()).ThreadTS)
	require.Equal(t, calls+2, h.slack.UserInfoCalls(), "the member is asked again after its TTL")

	// A tenant admin allows external users for the installation.
	_, err := h.client.SetInstallationPolicy(h.admin(t, "t_acme"), &slackadapterv1.SetInstallationPolicyRequest{TeamId: "E1", AllowExternalUsers: true})
	require.NoError(t, err)
	st, out = send("EvOut2", "UOUT", "TOTHERCO", "9.3")
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, "9.3", recv(t, h.slack.Posts()).ThreadTS, "allowed by the tenant's admin")
}
