package server_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// longWords is how many numbered words the long answer has (~27,000
// characters: more than two messages' worth of Slack's limits).
const longWords = 3000

// longAnswer scripts inference to stream an answer of longWords numbered
// words ("w1 w2 …"), 100 a chunk, citing the VPN page.
func longAnswer(*inferencetest.Call) inferencetest.Answer {
	head := `{"id":"chatcmpl-long","object":"chat.completion.chunk","created":1800000000,"model":"echo","choices":[{"index":0,`
	var chunks []*inferencev1.StreamChatCompletionResponse
	var sb strings.Builder
	for i := 1; i <= longWords; i++ {
		sb.WriteString("w" + strconv.Itoa(i) + " ")
		if i%100 == 0 {
			chunks = append(chunks, inferencetest.Chunk(head+`"delta":{"content":"`+sb.String()+`"},"finish_reason":null}]}`))
			sb.Reset()
		}
	}
	chunks = append(chunks, inferencetest.Chunk(head+`"delta":{},"finish_reason":"stop"}],"rampart":{"citations":[`+vpnCitation+`]}}`))
	return inferencetest.Answer{Chunks: chunks}
}

// requireEveryWord checks that texts together hold w1 … w<longWords> in
// order, each once.
func requireEveryWord(t *testing.T, texts []string) {
	t.Helper()
	words := strings.Fields(strings.Join(texts, " "))
	require.Len(t, words, longWords, "every word of the answer, once")
	for i, w := range words {
		require.Equal(t, "w"+strconv.Itoa(i+1), w, "in order")
	}
}

// sectionsOf is the answer's text in Block Kit JSON raw: its sections but
// the Sources.
func sectionsOf(t *testing.T, raw string) []string {
	var out []string
	for l := range strings.Lines(blockText(t, raw)) {
		if s, ok := strings.CutPrefix(strings.TrimSuffix(l, "\n"), "section: "); ok && !strings.HasPrefix(s, "*Sources*") {
			out = append(out, s)
		}
	}
	return out
}

// TestLongAnswerIsSplitWithinSlackLimits: an answer longer than Slack
// takes in one message (the fake refuses as Slack does: a text field past
// 4,000 characters is msg_too_long, block text past 12,000
// msg_blocks_too_long) arrives whole, in the placeholder and the messages
// after it in the thread, with the sources once at the end. It used to be
// one chat.update carrying the whole answer, which Slack refused: the
// asker saw "Looking in your documents…" forever.
func TestLongAnswerIsSplitWithinSlackLimits(t *testing.T) {
	h := start(t, harnessOpts{script: longAnswer, streamEvery: "0s"})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})

	const root = "1800000100.000100"
	st, out := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvL1", mentionEv("tell me everything", root))))
	require.Equal(t, http.StatusOK, st, out)
	p := recv(t, h.slack.Posts())
	require.Equal(t, root, p.ThreadTS)
	final := h.final(t, p)
	texts := sectionsOf(t, final.Blocks)
	require.NotContains(t, final.Blocks, "*Sources*", "the sources close the answer, in its last message")
	for !strings.Contains(strings.Join(texts, ""), "w"+strconv.Itoa(longWords)+" ") && !strings.HasSuffix(strings.Join(texts, ""), "w"+strconv.Itoa(longWords)) {
		next := recv(t, h.slack.Posts())
		require.Equal(t, root, next.ThreadTS, "the answer goes on in the same thread")
		require.NotEmpty(t, next.Text, "each message has its fallback text (notifications)")
		texts = append(texts, sectionsOf(t, next.Blocks)...)
		if strings.Contains(next.Blocks, "*Sources*") {
			require.Contains(t, blockText(t, next.Blocks), "<"+vpnURL+"|"+vpnURL+">")
			break
		}
	}
	requireEveryWord(t, texts)
	require.Empty(t, h.slack.Refused(), "Slack refused none of the messages")
}

// TestLongSlashAnswerIsSplitWithinSlackLimits: the same at a slash
// command's response_url (up to five responses each).
func TestLongSlashAnswerIsSplitWithinSlackLimits(t *testing.T) {
	h := start(t, harnessOpts{script: longAnswer})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"tell me everything"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/long"}}
	st, _ := h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st)
	var texts []string
	for n := 1; ; n++ {
		r := recv(t, h.slack.Responses())
		require.Equal(t, "in_channel", r.ResponseType)
		texts = append(texts, sectionsOf(t, r.Blocks)...)
		if strings.Contains(r.Blocks, "*Sources*") {
			require.Greater(t, n, 1, "split")
			require.LessOrEqual(t, n, 5, "a response_url takes five responses")
			break
		}
	}
	requireEveryWord(t, texts)
	require.Empty(t, h.slack.Refused())
}

// TestRefusedAnswerIsToldNotSilent: when Slack refuses the final message
// anyway (a limit the renderer does not know), the placeholder is
// replaced with a plain sentence saying so instead of staying "Looking in
// your documents…" for ever.
func TestRefusedAnswerIsToldNotSilent(t *testing.T) {
	// One partial update (the clock stands still, the interval is a
	// minute), then the final one: both refused.
	h := start(t, harnessOpts{model: "rampart-extractive", streamEvery: "1m", script: handbook})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})
	h.slack.FailUpdates(2, "invalid_blocks")
	st, _ := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", "EvX1", mentionEv("how often do VPN certificates rotate?", "1800000101.000100"))))
	require.Equal(t, http.StatusOK, st)
	p := recv(t, h.slack.Posts())
	u := h.final(t, p)
	require.Contains(t, u.Text, "Slack did not accept my answer")
	require.Empty(t, u.Blocks, "plain text: nothing more for Slack to refuse")
}

// TestSlashCommandFailureIsAnswered: a slash command whose answer fails
// on Rampart's side before there is an answer (here the tenant's adapter
// key was revoked) is answered at its response_url with a plain sorry,
// not left at "Working on it…". It used to be logged only.
func TestSlashCommandFailureIsAnswered(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})
	var key string
	for _, c := range h.auth.Created() {
		if c.Tenant == "t_acme" {
			key = c.Plaintext
		}
	}
	require.NotEmpty(t, key)
	h.auth.RevokeSilently(authtest.KeyID(t, key))
	h.later.Store(int64(bot.MaxAssertionAge + time.Second))

	form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"summarise the policy"}, "user_id": {"U123"},
		"channel_id": {"C42"}, "response_url": {h.slack.URL + "/hooks/commands/T1/1/fail"}}
	st, _ := h.send(t, h.signed("/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
	require.Equal(t, http.StatusOK, st)
	r := recv(t, h.slack.Responses())
	require.Equal(t, "ephemeral", r.ResponseType, "only the asker sees it")
	require.True(t, strings.HasPrefix(r.Text, "Sorry, I could not answer"), r.Text)
	require.NotContains(t, r.Text, "verify", "never the error itself")
}
