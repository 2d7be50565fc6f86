package bot

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackapi"
)

// respondRecorder is a Slack that records response_url answers; any
// other call panics (the embedded nil interface).
type respondRecorder struct {
	Slack
	got       []slackapi.Message
	inChannel bool
}

func (r *respondRecorder) Respond(_ context.Context, _ string, inChannel bool, msg slackapi.Message) error {
	r.inChannel = r.inChannel || inChannel
	r.got = append(r.got, msg)
	return nil
}

// TestPanickingJobIsRecoveredAndTold: a job that panics (here the adapter
// has no store, so looking the installation up dereferences nil) used to
// end the process — a bare worker goroutine — silencing every tenant's
// bot. It is recovered: the worker goes on, and a slash command's asker
// is told.
func TestPanickingJobIsRecoveredAndTold(t *testing.T) {
	rec := &respondRecorder{}
	a, err := New(Options{Config: config.Default(), Slack: rec})
	require.NoError(t, err)
	j := job{tenant: "t_acme", team: "T1", responseURL: "https://hooks.slack.com/commands/T1/1/x",
		cmd: command{kind: cmdAsk, arg: "q"}, ev: event{Type: "command", User: "U1", Channel: "C1", Text: "q"}}
	require.NotPanics(t, func() { a.process(j) })
	require.Len(t, rec.got, 1)
	require.Equal(t, commandFailed, rec.got[0].Text)
	require.False(t, rec.inChannel, "only the asker sees it")

	// An event's job is recovered too (nothing to tell without a token).
	require.NotPanics(t, func() { a.process(job{tenant: "t_acme", team: "T1", eventID: "Ev1", ev: event{Type: "app_mention"}}) })
	require.Len(t, rec.got, 1)
}
