package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// TestAcksDoNotWaitForAnswers: Slack wants every event and slash command
// acknowledged within 3 seconds, so the ack must never wait for an answer.
// With every worker held inside inference, a burst of mentions and slash
// commands sent at once is acknowledged (accepted, "Working on it…") —
// the acks cannot have waited, since no answer can finish — and once
// inference lets go, every one of them is answered.
func TestAcksDoNotWaitForAnswers(t *testing.T) {
	const workers, mentions, commands = 2, 20, 5
	release := make(chan struct{})
	var held atomic.Int32
	h := start(t, harnessOpts{workers: workers, queueSize: 64, script: func(c *inferencetest.Call) inferencetest.Answer {
		if strings.Contains(c.Method, "ChatCompletion") {
			held.Add(1)
			<-release
		}
		return inferencetest.Echo(c)
	}})
	h.configure(t)
	h.install(t, "t_acme", slackfake.Grant{TeamID: "T1", BotUserID: "UBOT1"})

	var wg sync.WaitGroup
	acks := make(chan string, mentions+commands)
	for i := range mentions {
		wg.Go(func() {
			st, out := h.send(t, h.signed("/slack/events", "application/json",
				eventBody("T1", fmt.Sprintf("EvLoad%d", i), mentionEv(fmt.Sprintf("question %d", i), fmt.Sprintf("1800000100.%06d", i)))))
			acks <- fmt.Sprint(st, " ", out)
		})
	}
	for i := range commands {
		wg.Go(func() {
			form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {fmt.Sprintf("ask command %d", i)}, "user_id": {"U123"},
				"channel_id": {"C42"}, "response_url": {fmt.Sprintf("%s/hooks/commands/T1/%d/abc", h.slack.URL, i)}}
			st, out := h.send(t, h.signedAt(h.now.Add(time1(i)), "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())))
			acks <- fmt.Sprint(st, " ", out)
		})
	}
	wg.Wait()
	close(acks)
	n := 0
	for a := range acks {
		n++
		require.True(t, strings.HasPrefix(a, "200 "), a)
		require.True(t, strings.Contains(a, `"accepted"`) || strings.Contains(a, "Working on it"), a)
	}
	require.Equal(t, mentions+commands, n)
	require.Eventually(t, func() bool { return held.Load() == workers }, 30*time.Second, 10*time.Millisecond, "every worker is inside inference")
	require.Equal(t, int32(workers), held.Load(), "the acks did not wait for answers: only the workers' own jobs reached inference")

	close(release)
	placeholders := map[string]bool{}
	for range mentions {
		placeholders[recv(t, h.slack.Posts()).TS] = true
	}
	// Two workers stream at once: their updates interleave.
	for done := map[string]bool{}; len(done) < mentions; {
		u := recv(t, h.slack.Updates())
		if placeholders[u.TS] && !strings.HasSuffix(u.Text, " …") {
			require.Contains(t, u.Text, "question", "the mention's answer replaced its placeholder")
			done[u.TS] = true
		}
	}
	for range commands {
		r := recv(t, h.slack.Responses())
		require.Contains(t, r.Text, "command", "answered at its response_url")
	}
}
