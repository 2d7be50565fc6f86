package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSlackPlainThreadReplyIsAnswered (ADR 0128): through the real stack
// with the fake Slack Web API — a mention is answered in its thread; a
// plain reply in that thread (a message event, no mention) is answered
// there too, grounded in the channel's collection, with the thread read
// back (conversations.replies) for history; a plain reply in a thread the
// bot never answered in is ignored; a reply that mentions the bot, which
// Slack sends as app_mention and as message, is answered once.
func TestSlackPlainThreadReplyIsAnswered(t *testing.T) {
	const clientID, clientSecret, signingSecret = "e2e.3", "e2e-threads-client-secret", "e2e-threads-signing-secret-01234"
	const source = "https://wiki.example.com/it/vpn"
	slackAPI := startFakeSlackAPI(t, clientID, clientSecret)
	s := launchWith(t, "RAMPART_SLACKADAPTER_SLACK_API_URL="+slackAPI.srv.URL+"/api/", "RAMPART_SLACKADAPTER_STREAM_UPDATE_INTERVAL=0s")
	admin := s.env["RAMPART_ADMIN_KEY"]
	setSlackApp(t, s, clientID, clientSecret, signingSecret)
	ingestSlackDoc(t, s, admin, "it-handbook", vpnDoc, source)
	installSlackWorkspace(t, s, admin, slackAPI, "T1")
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/slack/bindings", admin,
		map[string]any{"team_id": "T1", "channel_id": "C42", "collections": []string{"it-handbook"}}, nil))

	event := func(eventID string, ev map[string]any) string {
		t.Helper()
		body, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": eventID, "event": ev})
		require.NoError(t, err)
		code, out := postSlackSigned(t, s, signingSecret, "/slack/events", "application/json", body)
		require.Equal(t, http.StatusOK, code, out)
		var ack struct {
			Status string `json:"status"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &ack), out)
		return ack.Status
	}
	reply := func(text, ts, root string) map[string]any {
		return map[string]any{"type": "message", "channel_type": "channel", "user": "U1", "text": text, "channel": "C42", "ts": ts, "thread_ts": root}
	}
	posts := func() int {
		slackAPI.mu.Lock()
		defer slackAPI.mu.Unlock()
		return len(slackAPI.posts)
	}
	grounded := func(up url.Values, want string) {
		t.Helper()
		require.Contains(t, up.Get("text"), want)
		require.Contains(t, up.Get("blocks"), source+"|", "the citation links the document's source (\u003c… in the JSON)")
	}

	// The fake's bot posts have ts 1900000000.0000nn: people's messages
	// around them are timed so the thread reads in order.
	const root = "1899999990.000100"
	slackAPI.addThreadMessage("C42", root, "U1", "<@UBOTE2E> how often do VPN certificates rotate?", root)
	require.Equal(t, "accepted", event("EvT1", map[string]any{"type": "app_mention", "user": "U1",
		"text": "<@UBOTE2E> how often do VPN certificates rotate?", "channel": "C42", "ts": root}))
	grounded(slackAPI.finalUpdate(t), "45 days")
	require.Equal(t, 1, posts())

	// Not the bot's thread: ignored before anything is asked.
	require.Equal(t, "ignored", event("EvT2", reply("who renews them?", "1900000005.000100", "1899999980.000100")))

	// The plain follow-up in the bot's thread.
	const follow = "1900000006.000100"
	slackAPI.addThreadMessage("C42", root, "U1", "and who renews them?", follow)
	require.Equal(t, "accepted", event("EvT3", reply("and who renews them?", follow, root)))
	grounded(slackAPI.finalUpdate(t), "renews VPN certificates")
	slackAPI.mu.Lock()
	require.Len(t, slackAPI.posts, 2, "one answer to the follow-up, none to the other thread")
	require.Equal(t, root, slackAPI.posts[1].Get("thread_ts"), "answered in the thread")
	require.Contains(t, slackAPI.replies, "C42/"+root, "the thread was read back as history")
	require.False(t, slices.Contains(slackAPI.replies, "C42/1899999980.000100"))
	slackAPI.mu.Unlock()

	// A reply that mentions the bot: app_mention and message, one answer.
	const both = "1900000007.000100"
	text := "<@UBOTE2E> and printers?"
	slackAPI.addThreadMessage("C42", root, "U1", text, both)
	require.Equal(t, "accepted", event("EvT4", reply(text, both, root)))
	require.Equal(t, "duplicate", event("EvT5", map[string]any{"type": "app_mention", "user": "U1", "text": text, "channel": "C42", "ts": both, "thread_ts": root}))
	up := slackAPI.finalUpdate(t)
	require.False(t, strings.HasPrefix(up.Get("text"), "Sorry"), up.Get("text"))
	require.Equal(t, 3, posts(), "answered once")
}
