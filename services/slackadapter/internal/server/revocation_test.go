package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/authtest"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/bot"
)

// TestRevokedAdapterKeyStopsAnswering (escalation review 2026-12-06): the
// adapter acts for a tenant with an assertion of the tenant's adapter key,
// and it does not go through the edge, whose cache revocations reach within
// a second. It used to keep that assertion for up to 4 minutes, so a tenant
// admin who revoked the adapter's key (or whose tenant was suspended) still
// had the bot answering, billed to the tenant, for minutes. The assertion is
// now re-verified after at most bot.MaxAssertionAge (30 s, the edge's cache
// TTL).
func TestRevokedAdapterKeyStopsAnswering(t *testing.T) {
	h := grounded(t)
	mention := func(id, ts string) {
		st, out := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", id, mentionEv("how often do VPN certificates rotate?", ts))))
		require.Equal(t, http.StatusOK, st, out)
	}
	mention("EvR1", "1800000010.000100")
	h.final(t, recv(t, h.slack.Posts()))
	verified := h.auth.VerifyCalls.Load()

	// Within the bound the cached assertion serves.
	h.later.Store(int64(bot.MaxAssertionAge - time.Second))
	mention("EvR2", "1800000011.000100")
	h.final(t, recv(t, h.slack.Posts()))
	require.Equal(t, verified, h.auth.VerifyCalls.Load(), "a fresh assertion is reused")

	var key string
	for _, c := range h.auth.Created() {
		if c.Tenant == "t_acme" {
			key = c.Plaintext
		}
	}
	require.NotEmpty(t, key, "the adapter created its tenant key")
	h.auth.Revoke(authtest.KeyID(t, key), "t_acme")
	chats := len(h.inf.Calls())

	// Past the bound the key is verified again, fails, and nothing answers.
	h.later.Store(int64(bot.MaxAssertionAge + time.Second))
	mention("EvR3", "1800000012.000100")
	require.Eventually(t, func() bool { return h.auth.VerifyCalls.Load() > verified }, 30*time.Second, 10*time.Millisecond,
		"the adapter verifies its key again once the assertion is older than MaxAssertionAge")
	select {
	case p := <-h.slack.Posts():
		t.Fatalf("a revoked adapter key still answered in Slack: %+v", p)
	case <-time.After(500 * time.Millisecond):
	}
	require.Len(t, h.inf.Calls(), chats, "inference was not called with the revoked key's assertion")
}
