package bot

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClassify: which events are answered (ADR 0128). Before, a plain
// reply in a channel thread (a message event) was ignored: the thread
// reply rows failed on the old filter.
func TestClassify(t *testing.T) {
	const root, reply = "1800000001.000100", "1800000001.000200"
	msg := func(channelType, ts, threadTS string) event {
		return event{Type: "message", User: "U1", Text: "and the second step?", Channel: "C1", ChannelType: channelType, TS: ts, ThreadTS: threadTS}
	}
	with := func(ev event, f func(*event)) event { f(&ev); return ev }
	tests := []struct {
		name    string
		ev      event
		botUser string
		want    kind
	}{
		{"mention", event{Type: "app_mention", User: "U1", Text: "<@UBOT> hi", Channel: "C1", TS: root}, "", kindMention},
		{"mention in a thread", event{Type: "app_mention", User: "U1", Text: "<@UBOT> hi", Channel: "C1", TS: reply, ThreadTS: root}, "UBOT", kindMention},
		{"DM", msg("im", root, ""), "", kindDM},
		{"DM thread reply", msg("im", reply, root), "", kindDM},
		{"reply in a public channel thread", msg("channel", reply, root), "UBOT", kindThreadReply},
		{"reply in a private channel thread", msg("group", reply, root), "UBOT", kindThreadReply},
		{"top-level channel message", msg("channel", root, ""), "UBOT", kindIgnored},
		{"thread root (thread_ts = ts)", msg("channel", root, root), "UBOT", kindIgnored},
		{"group DM thread reply (no message.mpim)", msg("mpim", reply, root), "UBOT", kindIgnored},
		{"edited reply", with(msg("channel", reply, root), func(e *event) { e.Subtype = "message_changed" }), "UBOT", kindIgnored},
		{"deleted reply", with(msg("channel", reply, root), func(e *event) { e.Subtype = "message_deleted"; e.User = "" }), "UBOT", kindIgnored},
		{"broadcast reply", with(msg("channel", reply, root), func(e *event) { e.Subtype = "thread_broadcast" }), "UBOT", kindIgnored},
		{"joined channel", with(msg("channel", reply, root), func(e *event) { e.Subtype = "channel_join" }), "UBOT", kindIgnored},
		{"another bot", with(msg("channel", reply, root), func(e *event) { e.BotID = "B9"; e.User = "UOTHER" }), "UBOT", kindIgnored},
		{"bot_message subtype", with(msg("channel", reply, root), func(e *event) { e.Subtype = "bot_message"; e.User = "" }), "UBOT", kindIgnored},
		{"our own message (bot_id)", with(msg("channel", reply, root), func(e *event) { e.BotID = "B1"; e.User = "UBOT" }), "UBOT", kindIgnored},
		{"our own message (user only)", with(msg("channel", reply, root), func(e *event) { e.User = "UBOT" }), "UBOT", kindIgnored},
		{"our own mention of ourselves", event{Type: "app_mention", User: "UBOT", Text: "<@UBOT>", Channel: "C1", TS: root}, "UBOT", kindIgnored},
		{"empty text", with(msg("channel", reply, root), func(e *event) { e.Text = "  " }), "UBOT", kindIgnored},
		{"no channel", with(msg("channel", reply, root), func(e *event) { e.Channel = "" }), "UBOT", kindIgnored},
		{"other event type", event{Type: "reaction_added", User: "U1", Text: "x", Channel: "C1", TS: reply, ThreadTS: root}, "UBOT", kindIgnored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, classify(tt.ev, tt.botUser))
		})
	}
}
