package server_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/latency"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// BenchmarkAck is the time Slack waits for its 200: a signed app_mention
// relayed over mTLS gRPC (as the edge does), signature verified, parsed,
// routed to its installation (team check), deduped in SQLite and queued.
// Answering (inference, placeholder, chat.update) happens after the ack,
// on the workers, competing for the same CPUs as a loaded adapter would.
// Target: p99 ≤ 100 ms (docs/performance.md).
func BenchmarkAck(b *testing.B) {
	h := start(b, harnessOpts{workers: 4, queueSize: 100_000})
	h.configure(b)
	h.install(b, "t_bench", slackfake.Grant{TeamID: "TB", BotUserID: "UBOTB"})
	// Drain what the workers post, until the process ends: the adapter
	// finishes its queue at shutdown, after every cleanup of this test.
	go func() {
		for {
			select {
			case <-h.slack.Posts():
			case <-h.slack.Updates():
			}
		}
	}()
	ctx := context.Background()
	// Warm the signing-secret cache and the connection.
	_, err := h.client.HandleEvent(ctx, h.signed("/slack/events", "application/json", eventBody("TB", "warm", mentionEv("hi", "1.0"))))
	require.NoError(b, err)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		req := h.signed("/slack/events", "application/json", eventBody("TB", fmt.Sprintf("Ev%d", i), mentionEv("what is rampart?", "1.0")))
		t0 := time.Now()
		resp, err := h.client.HandleEvent(ctx, req)
		lat = append(lat, time.Since(t0))
		if err != nil || resp.GetStatusCode() != http.StatusOK {
			b.Fatalf("ack: %v %d %s", err, resp.GetStatusCode(), resp.GetBody())
		}
	}
	b.StopTimer()
	latency.Report(b, "ack-", lat)
}
