package bot

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
)

// setupManifest is the Slack app manifest a newcomer pastes
// (docs/slack-setup.md, step 2): its bot scopes and bot events.
func setupManifest(t *testing.T) (scopes, events []string, yaml string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "slack-setup.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)```yaml\n(display_information:.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "the manifest block of step 2")
	yaml = string(m[1])
	list := func(after string) []string {
		i := strings.Index(yaml, after)
		require.GreaterOrEqual(t, i, 0, after)
		var out []string
		for line := range strings.SplitSeq(yaml[i+len(after):], "\n") {
			item, ok := strings.CutPrefix(strings.TrimSpace(line), "- ")
			if !ok {
				if strings.TrimSpace(line) == "" && len(out) == 0 {
					continue
				}
				break
			}
			out = append(out, strings.Fields(item)[0])
		}
		return out
	}
	return list("    bot:\n"), list("    bot_events:\n"), yaml
}

// TestSetupManifestIsWhatTheAdapterNeeds: the manifest of the setup guide
// asks for exactly the scopes the adapter requests at install (its default
// BOT_SCOPES: Slack grants what the install URL asks, within the app's
// scopes), subscribes to every event the adapter handles and to nothing it
// ignores, has each event's scope, and points Slack at the adapter's
// routes. A newcomer following the guide gets a bot that hears what the
// code answers.
func TestSetupManifestIsWhatTheAdapterNeeds(t *testing.T) {
	scopes, events, yaml := setupManifest(t)
	require.ElementsMatch(t, config.Default().BotScopes, scopes, "manifest scopes = default BOT_SCOPES")

	// Each subscribed event, as Slack delivers it, is one the adapter acts on.
	ev := func(typ, channelType string) event {
		return event{Type: typ, User: "U1", Text: "hi", Channel: "C1", ChannelType: channelType, TS: "2.0", ThreadTS: "1.0"}
	}
	handled := map[string]bool{
		"app_mention":      classify(ev("app_mention", ""), "UBOT") == kindMention,
		"message.im":       classify(ev("message", "im"), "UBOT") == kindDM,
		"message.channels": classify(ev("message", "channel"), "UBOT") == kindThreadReply,
		"message.groups":   classify(ev("message", "group"), "UBOT") == kindThreadReply,
		"app_uninstalled":  true, // lifecycle
		"tokens_revoked":   true,
	}
	for name, ok := range handled {
		require.True(t, ok, "%s is handled", name)
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(handled)), events, "manifest bot_events = the events the adapter handles")
	require.Equal(t, kindIgnored, classify(ev("message", "mpim"), "UBOT"), "message.mpim is not handled, so not subscribed")

	// The scope each event needs (Slack refuses the manifest otherwise).
	for event, scope := range map[string]string{"app_mention": "app_mentions:read", "message.im": "im:history",
		"message.channels": "channels:history", "message.groups": "groups:history"} {
		require.Contains(t, scopes, scope, "%s needs %s", event, scope)
	}
	// And the Web API methods the adapter calls: chat.postMessage,
	// chat.update, chat.postEphemeral (chat:write), conversations.replies
	// (*:history), users.info (users:read), /rampart (commands).
	for _, s := range []string{"chat:write", "users:read", "commands", "mpim:history"} {
		require.Contains(t, scopes, s)
	}
	for _, route := range []string{"/slack/events", "/slack/commands", "/slack/oauth/callback"} {
		require.Contains(t, yaml, "https://rampart.example.com"+route)
	}
	require.Contains(t, yaml, "messages_tab_read_only_enabled: false", "DMs to the bot (message.im) need a writable Messages tab")
}
