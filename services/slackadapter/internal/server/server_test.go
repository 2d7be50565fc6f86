package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

func eventBody(team, eventID string, ev map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": team, "api_app_id": "A1", "event_id": eventID, "event": ev})
	return b
}

func mentionEv(text, ts string) map[string]any {
	return map[string]any{"type": "app_mention", "user": "U123", "text": "<@UBOT1> " + text, "channel": "C42", "ts": ts}
}

func TestSignatureAtTheBoundary(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	body := []byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`)
	ts := strconv.FormatInt(h.now.Unix(), 10)
	stale := strconv.FormatInt(h.now.Add(-6*time.Minute).Unix(), 10)
	future := strconv.FormatInt(h.now.Add(6*time.Minute).Unix(), 10)
	hdr := func(ts, sig string) []*slackadapterv1.Header {
		return []*slackadapterv1.Header{{Name: signature.HeaderTimestamp, Value: ts}, {Name: signature.HeaderSignature, Value: sig}}
	}
	tests := []struct {
		name    string
		headers []*slackadapterv1.Header
		body    []byte
		want    int
	}{
		{"valid", hdr(ts, signature.Sign([]byte(signingSecret), ts, body)), body, http.StatusOK},
		{"stale", hdr(stale, signature.Sign([]byte(signingSecret), stale, body)), body, http.StatusUnauthorized},
		{"future", hdr(future, signature.Sign([]byte(signingSecret), future, body)), body, http.StatusUnauthorized},
		{"tampered body", hdr(ts, signature.Sign([]byte(signingSecret), ts, body)), append([]byte(`{"x":1,`), body[1:]...), http.StatusUnauthorized},
		{"wrong secret", hdr(ts, signature.Sign([]byte("not-the-secret"), ts, body)), body, http.StatusUnauthorized},
		{"missing headers", nil, body, http.StatusUnauthorized},
		{"unsigned garbage is not parsed", nil, []byte("{not json"), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out := h.send(t, &slackadapterv1.HandleEventRequest{Method: http.MethodPost, Path: "/slack/events", Headers: tt.headers, Body: tt.body})
			require.Equal(t, tt.want, st, out)
			if tt.want == http.StatusOK {
				require.JSONEq(t, `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`, out, "url_verification echoes the challenge")
			} else {
				require.JSONEq(t, `{"error":{"message":"invalid Slack signature","type":"authentication_error","param":null,"code":"invalid_signature"}}`, out,
					"the edge's one error body")
			}
		})
	}
}

func TestUnconfiguredAppAnswers503(t *testing.T) {
	h := start(t, harnessOpts{})
	st, out := h.send(t, h.signed("/slack/events", "application/json", []byte(`{"type":"url_verification","challenge":"x"}`)))
	require.Equal(t, http.StatusServiceUnavailable, st)
	require.JSONEq(t, `{"error":{"message":"slack app not configured","type":"server_error","param":null,"code":"service_unavailable"}}`, out)
}

func TestMentionAnsweredInThreadWithDedupeAndBotFilter(t *testing.T) {
	h := start(t, harnessOpts{workers: 1})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})

	// Bot messages, our own messages and non-DM messages are ignored.
	ignoredEvents := []map[string]any{
		{"type": "message", "subtype": "bot_message", "bot_id": "B9", "text": "beep", "channel": "C42", "ts": "1.1"},
		{"type": "app_mention", "bot_id": "B1", "user": "UBOT1", "text": "<@UBOT1> me", "channel": "C42", "ts": "1.2"},
		{"type": "message", "channel_type": "channel", "user": "U123", "text": "chatter", "channel": "C42", "ts": "1.3"},
	}
	for i, ev := range ignoredEvents {
		st, out := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", fmt.Sprintf("EvIgn%d", i), ev)))
		require.Equal(t, http.StatusOK, st)
		require.Contains(t, out, "ignored")
	}
	// Our own user id without bot_id (e.g. a DM the bot sent) reaches the
	// worker, which drops it: the post below must be the only one.
	self := map[string]any{"type": "message", "channel_type": "im", "user": "UBOT1", "text": "echo of myself", "channel": "D1", "ts": "1.4"}
	st, _ := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvSelf", self)))
	require.Equal(t, http.StatusOK, st)

	body := eventBody("T1", "Ev1", mentionEv("what is rampart?", "1700000000.000100"))
	st, out := h.send(t, h.signed("/slack/events", "application/json", body))
	require.Equal(t, http.StatusOK, st, out)
	require.Contains(t, out, "accepted")

	// Slack's retry of the same event is dropped.
	st, out = h.send(t, h.signed("/slack/events", "application/json", body, "X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout"))
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, out, "duplicate")

	p := recv(t, h.slack.Posts())
	require.Equal(t, "C42", p.Channel)
	require.Equal(t, "1700000000.000100", p.ThreadTS, "answers go in the thread of the mention")
	final := h.final(t, p)
	require.Contains(t, final.Text, "what is rampart?", "echo model: the question reached inference without the mention")
	require.NotContains(t, final.Text, "<@UBOT1>")
	require.True(t, h.slack.Valid(p.Token), "posted with the workspace's bot token")

	// A DM is answered too (one worker: processed after the self message).
	dm := map[string]any{"type": "message", "channel_type": "im", "user": "U123", "text": "hello in DM", "channel": "D1", "ts": "1700000001.000100"}
	st, _ = h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "Ev2", dm)))
	require.Equal(t, http.StatusOK, st)
	p = recv(t, h.slack.Posts())
	require.Equal(t, "D1", p.Channel)
	require.Contains(t, h.final(t, p).Text, "hello in DM")
	select {
	case extra := <-h.slack.Posts():
		t.Fatalf("unexpected extra post (self message or duplicate answered): %+v", extra)
	default:
	}

	// The bot token came from keyvault for the installing tenant only.
	_, ok := h.vault.Value("t_acme", "/dev/slackadapter/bot-token/T1")
	require.True(t, ok)
	_, ok = h.vault.Value("t_other", "/dev/slackadapter/bot-token/T1")
	require.False(t, ok, "the workspace's token is stored under its own tenant")

	// Canary: no token, key or Slack secret in the logs.
	h.forbidInLogs("CANARY", p.Token, signingSecret, clientSecret, "xoxe-")
	for _, c := range h.auth.Created() {
		h.forbidInLogs(c.Plaintext) // the adapter's own API keys
	}
}

func TestSlashCommandAnsweredAtResponseURL(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"summarise the policy"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/abc"}}
	st, out := h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st)
	require.JSONEq(t, `{"response_type":"ephemeral","text":"Working on it…"}`, out)
	require.Contains(t, recv(t, h.slack.Responses()).Text, "summarise the policy")

	// A response_url off the allow-list is refused (no request forgery).
	form.Set("response_url", "http://169.254.169.254/latest/meta-data")
	st, out = h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusBadRequest, st)
	require.Contains(t, out, "response_url")
}

func TestRetryAfterHonored(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	h.slack.Throttle(2, 3)
	st, _ := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "Ev1", mentionEv("hi", "1.5"))))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, 3*time.Second, recv(t, h.sleeps))
	require.Equal(t, 3*time.Second, recv(t, h.sleeps))
	p := recv(t, h.slack.Posts())
	require.Equal(t, "1.5", p.ThreadTS)
}

// TestInstallCancelledShowsOnlySlacksCode: the install callback is public
// and unauthenticated; its page used to repeat any "error" text a link
// carried (escaped, but free text on Rampart's origin, e.g. a phone number
// to call). Only an error code of Slack's shape is shown now (security
// review 2026-12-06 evening).
func TestInstallCancelledShowsOnlySlacksCode(t *testing.T) {
	h := start(t, harnessOpts{})
	for _, tc := range []struct{ give, want, not string }{
		{"access_denied", "Slack said: access_denied", ""},
		{"Your workspace is suspended. Call +1 555 0100 to restore it", "Slack did not say why", "555"},
		{strings.Repeat("a", 65), "Slack did not say why", strings.Repeat("a", 65)},
	} {
		q := url.Values{"error": {tc.give}, "state": {"whatever"}}
		st, body := h.send(t, &slackadapterv1.HandleEventRequest{Method: http.MethodGet, Path: "/slack/oauth/callback", RawQuery: q.Encode()})
		require.Equal(t, http.StatusBadRequest, st)
		require.Contains(t, body, tc.want)
		if tc.not != "" {
			require.NotContains(t, body, tc.not)
		}
	}
}

func TestOAuthInstall(t *testing.T) {
	h := start(t, harnessOpts{})

	// Before the app is configured there is nothing to install.
	_, err := h.client.GetInstallUrl(h.admin(t, "t_acme"), &slackadapterv1.GetInstallUrlRequest{})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	h.configure(t)

	// Only tenant admins may install.
	_, err = h.client.GetInstallUrl(h.as(t, "t_acme", []string{"member"}, []string{"chat:write"}), &slackadapterv1.GetInstallUrlRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = h.client.GetInstallUrl(context.Background(), &slackadapterv1.GetInstallUrlRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "admin RPCs need a principal")

	resp, err := h.client.GetInstallUrl(h.admin(t, "t_acme"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.GetUrl(), "https://rampart.example.com/slack/oauth/start?state="), resp.GetUrl())
	u, cookie := h.openInstallLink(t, resp.GetUrl())
	require.Equal(t, clientID, u.Query().Get("client_id"))
	require.Equal(t, "https://rampart.example.com/slack/oauth/callback", u.Query().Get("redirect_uri"))
	require.Contains(t, u.Query().Get("scope"), "chat:write")
	state := u.Query().Get("state")
	require.NotContains(t, state, "t_acme", "the tenant is bound by MAC, not carried")
	require.True(t, strings.HasPrefix(cookie, "__Host-rampart_slack_install="), cookie)

	callback := func(code, state string) (int, string) { return h.callback(t, code, state, cookie) }
	h.slack.AddCode("good", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})
	parts := strings.Split(state, ".")
	badStates := map[string]string{
		"tampered mac":    parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"extended expiry": parts[0] + "." + strconv.FormatInt(h.now.Add(time.Hour).Unix(), 10) + "." + parts[2],
		"unknown nonce":   "nonce." + parts[1] + "." + parts[2],
		"empty":           "",
	}
	for name, s := range badStates {
		t.Run(name, func(t *testing.T) {
			st, body := callback("good", s)
			require.Equal(t, http.StatusBadRequest, st, body)
		})
	}
	st, body := callback("good", state)
	require.Equal(t, http.StatusOK, st, body)
	require.Contains(t, body, "T1 is now connected to Rampart tenant t_acme", "the page names the tenant the workspace joined")
	st, _ = callback("good", state)
	require.Equal(t, http.StatusBadRequest, st, "a state is single-use")

	list, err := h.client.ListInstallations(h.as(t, "t_acme", []string{"member"}, []string{"chat:write"}), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetInstallations(), 1)
	require.Equal(t, "T1", list.GetInstallations()[0].GetTeamId())
	list, err = h.client.ListInstallations(h.admin(t, "t_other"), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetInstallations(), "other tenants see nothing")

	// The same workspace cannot be captured by another tenant.
	resp, err = h.client.GetInstallUrl(h.admin(t, "t_other"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	u, otherCookie := h.openInstallLink(t, resp.GetUrl())
	h.slack.AddCode("again", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	st, _ = h.callback(t, "again", u.Query().Get("state"), otherCookie)
	require.Equal(t, http.StatusConflict, st)

	// Tokens are in keyvault only; the adapter key exists per tenant.
	raw, ok := h.vault.Value("t_acme", "/dev/slackadapter/bot-token/T1")
	require.True(t, ok)
	require.Contains(t, raw, "xoxb-T1-")
	require.ElementsMatch(t, []string{"t_acme", "t_other"}, createdTenants(h.auth), "an adapter key per installing tenant, none for the app")

	// Only the edge may relay Slack requests; the CLI may not.
	_, err = h.cli.HandleEvent(context.Background(), &slackadapterv1.HandleEventRequest{Path: "/slack/events"})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
}

func TestTokenRotation(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.slack.SetExpiresIn(600) // inside the 15 min refresh window
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	before, _ := h.vault.Value("t_acme", "/dev/slackadapter/bot-token/T1")

	// Overlapping refresh runs (as on several replicas: each attempt has
	// its own lease holder) refresh the single-use token once: the others
	// find the lease taken, or the token no longer due once it is free.
	h.slack.SetExpiresIn(12 * 3600)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := h.bot.RefreshTokens(context.Background()); err != nil {
				t.Error("RefreshTokens:", err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, h.slack.Refreshed(), "one refresh, whoever got the lease")
	after, _ := h.vault.Value("t_acme", "/dev/slackadapter/bot-token/T1")
	require.NotEqual(t, before, after, "the rotated token replaced the old one in keyvault")

	st, _ := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "Ev1", mentionEv("after rotation", "2.0"))))
	require.Equal(t, http.StatusOK, st)
	p := recv(t, h.slack.Posts())
	require.True(t, h.slack.Valid(p.Token), "posted with the rotated token (the old one is dead)")
	require.Contains(t, after, p.Token)
}

func TestFullQueueAnswers503AndRetryIsProcessed(t *testing.T) {
	h := start(t, harnessOpts{workers: 1, queueSize: 1})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	// Hold the one worker: its post is throttled with a Retry-After the
	// recording Sleep reports and we do not drain yet.
	h.slack.Throttle(1, 1)
	st, _ := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvA", mentionEv("a", "3.0"))))
	require.Equal(t, http.StatusOK, st)
	sawBusy := false
	// Each event is another message (its own ts): events of one message
	// are answered once (ADR 0128).
	for i := range 50 {
		st, _ = h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", fmt.Sprintf("EvB%d", i), mentionEv("b", fmt.Sprintf("4.%d", i)))))
		if st == http.StatusServiceUnavailable {
			sawBusy = true
			// Slack retries the refused event: it must not count as a duplicate.
			require.Equal(t, 3*time.Second-2*time.Second, recv(t, h.sleeps), "the first post waited out Retry-After")
			st, out := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", fmt.Sprintf("EvB%d", i), mentionEv("b", fmt.Sprintf("4.%d", i))), "X-Slack-Retry-Num", "1"))
			require.NotContains(t, out, "duplicate")
			_ = st
			break
		}
	}
	require.True(t, sawBusy, "a full queue answers 503")
}

// TestInstallIsBoundToTheBrowserThatStartedIt (ADR 0069 §3): the install
// link opens Rampart's start page, which sets a cookie before sending the
// browser to Slack; Slack's redirect back is accepted only with that
// cookie. A state that leaked (Slack's authorize URL, a callback URL in a
// log or the history) cannot be completed from another browser, and such
// an attempt does not burn it for the browser that started it.
func TestInstallIsBoundToTheBrowserThatStartedIt(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	resp, err := h.client.GetInstallUrl(h.admin(t, "t_acme"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	slackURL, cookie := h.openInstallLink(t, resp.GetUrl())
	state := slackURL.Query().Get("state")
	name, value, ok := strings.Cut(cookie, "=")
	require.True(t, ok)
	nonce, _, _ := strings.Cut(state, ".")

	// A second tenant's live install, to borrow its cookie.
	other, err := h.client.GetInstallUrl(h.admin(t, "t_other"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	_, otherCookie := h.openInstallLink(t, other.GetUrl())

	h.slack.AddCode("stolen", slackfake.Grant{TeamID: "TEVIL", BotUserID: "UBOT9"})
	for _, tt := range []struct{ name, cookie string }{
		{"no cookie (another browser)", ""},
		{"another install's cookie", otherCookie},
		{"the state's nonce as the cookie", name + "=" + nonce},
		{"the state itself as the cookie", name + "=" + state},
		{"the right value under a non-host name", "rampart_slack_install=" + value},
		{"tampered value", name + "=" + value[:len(value)-2] + "AA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, body := h.callback(t, "stolen", state, tt.cookie)
			require.Equal(t, http.StatusBadRequest, st, body)
			require.Contains(t, body, "not started in this browser")
		})
	}
	list, err := h.client.ListInstallations(h.admin(t, "t_acme"), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetInstallations(), "nothing was installed")

	// The browser that started it still completes it: the refusals did not
	// consume the state.
	h.slack.AddCode("mine", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	st, body := h.callback(t, "mine", state, cookie)
	require.Equal(t, http.StatusOK, st, body)

	// The start page itself refuses a bad or spent state, and sets nothing.
	for _, bad := range []string{"", "x.1.y", state} {
		r, err := h.client.HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{Method: http.MethodGet, Path: "/slack/oauth/start",
			RawQuery: url.Values{"state": {bad}}.Encode()})
		require.NoError(t, err)
		require.Equal(t, int32(http.StatusBadRequest), r.GetStatusCode(), bad)
		require.Empty(t, r.GetHeaders(), "no cookie, no redirect for %q", bad)
	}
}
