package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// threadReplyEv is a message event of a reply in channel C42's thread
// root, as Slack sends it to an app subscribed to message.channels.
func threadReplyEv(user, text, ts, root string) map[string]any {
	return map[string]any{"type": "message", "channel_type": "channel", "user": user, "text": text, "channel": "C42",
		"ts": ts, "thread_ts": root}
}

// ackStatus is the "status" of an event's acknowledgement.
func ackStatus(t *testing.T, st int, body string) string {
	t.Helper()
	require.Equal(t, http.StatusOK, st, body)
	var ack struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &ack), body)
	return ack.Status
}

// TestPlainReplyInTheBotsThreadIsAnswered (ADR 0128): once the bot
// answered a mention in a channel thread, a reply there without a mention
// is answered, with the channel's binding, as the installation's tenant
// and with the thread's earlier turns as history. Before, every channel
// message event was ignored: the follow-up got no answer. A reply in a
// thread the bot never answered in, a top-level message, the bot's own
// message and an edit are ignored; a reply that mentions the bot (an
// app_mention and a message event, in either order) is answered once.
func TestPlainReplyInTheBotsThreadIsAnswered(t *testing.T) {
	h := grounded(t)
	h.bind(t, "t_acme", &slackadapterv1.SetBindingRequest{TeamId: "T1", ChannelId: "C42", Collections: []string{"handbook"}})
	send := func(eventID string, ev map[string]any) string {
		t.Helper()
		st, body := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", eventID, ev)))
		return ackStatus(t, st, body)
	}
	// The fake's bot posts have ts 1800000000.0000nn: the people's
	// messages around them are timed so the thread reads in order.
	const root, other = "1799999999.000100", "1799999998.000100"
	h.slack.AddThreadMessage("C42", root, slackfake.Message{User: "U123", Text: "<@UBOT1> tell me about VPN certificates", TS: root})
	require.Equal(t, "accepted", send("EvM1", mentionEv("tell me about VPN certificates", root)))
	first := h.final(t, recv(t, h.slack.Posts()))
	require.Contains(t, first.Text, "45 days")

	// Not the bot's business: acknowledged, never answered.
	require.Equal(t, "ignored", send("EvX1", threadReplyEv("U123", "how often?", "1800000009.000100", other)), "a thread the bot never answered in")
	require.Equal(t, "ignored", send("EvX2", map[string]any{"type": "message", "channel_type": "channel", "user": "U123",
		"text": "how often?", "channel": "C42", "ts": "1800000009.000150"}), "a top-level message")
	require.Equal(t, "ignored", send("EvX3", threadReplyEv("UBOT1", "our own words", "1800000009.000160", root)), "the bot's own message")
	edited := threadReplyEv("U123", "how often?", "1800000009.000170", root)
	edited["subtype"] = "message_changed"
	require.Equal(t, "ignored", send("EvX4", edited), "an edit")
	_, asked := h.inf.LastCall("StreamChatCompletion")
	require.True(t, asked)
	asks := len(h.inf.Calls())

	// The plain follow-up.
	const follow = "1800000009.000200"
	h.slack.AddThreadMessage("C42", root, slackfake.Message{User: "U123", Text: "how often do they rotate?", TS: follow, ThreadTS: root})
	require.Equal(t, "accepted", send("EvF1", threadReplyEv("U123", "how often do they rotate?", follow, root)))
	p := recv(t, h.slack.Posts())
	require.Equal(t, root, p.ThreadTS, "answered in the thread")
	require.Contains(t, h.final(t, p).Text, "45 days")
	require.Equal(t, asks+1, len(h.inf.Calls()), "the ignored events asked nothing")
	ask := h.lastAsk(t)
	require.NotNil(t, ask.Rampart)
	require.Equal(t, []string{"handbook"}, ask.Rampart.Collections, "the channel's binding")
	call, _ := h.inf.LastCall("StreamChatCompletion")
	require.Equal(t, "t_acme", call.Principal.GetTenantId())
	var roles []string
	for _, m := range ask.Messages[1:] {
		roles = append(roles, m.Role)
	}
	require.Equal(t, []string{"user", "assistant", "user"}, roles, "the earlier turns as history")
	require.Equal(t, "tell me about VPN certificates", ask.Messages[1].Content)
	require.Contains(t, ask.Messages[2].Content, "45 days", "the bot's answer")
	require.Equal(t, "how often do they rotate?", ask.Messages[3].Content)

	// A reply that mentions the bot comes as two events: answered once,
	// whichever arrives first. A retry of the accepted one is a duplicate too.
	for i, order := range [][2]string{{"app_mention", "message"}, {"message", "app_mention"}} {
		ts := []string{"1800000009.000300", "1800000009.000400"}[i]
		text := "<@UBOT1> and who renews them?"
		h.slack.AddThreadMessage("C42", root, slackfake.Message{User: "U123", Text: text, TS: ts, ThreadTS: root})
		ev := func(kind string) map[string]any {
			if kind == "message" {
				return threadReplyEv("U123", text, ts, root)
			}
			return map[string]any{"type": "app_mention", "user": "U123", "text": text, "channel": "C42", "ts": ts, "thread_ts": root}
		}
		require.Equal(t, "accepted", send("EvP"+order[0]+ts, ev(order[0])), order)
		require.Equal(t, "duplicate", send("EvP"+order[1]+ts, ev(order[1])), order)
		require.Equal(t, "duplicate", send("EvP"+order[0]+ts, ev(order[0])), "Slack's retry")
		p := recv(t, h.slack.Posts())
		require.Equal(t, root, p.ThreadTS)
		require.Contains(t, h.final(t, p).Text, "45 days")
		require.Equal(t, "and who renews them?", h.lastAsk(t).Messages[len(h.lastAsk(t).Messages)-1].Content)
	}
	select {
	case p := <-h.slack.Posts():
		t.Fatalf("a second answer: %+v", p)
	default:
	}
}
