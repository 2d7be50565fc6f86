package server_test

import (
	"fmt"
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
// now dropped when auth's revocation stream says so
// (TestRevocationReachesTheAdapterAtOnce) and, should that event be lost,
// re-verified after at most bot.MaxAssertionAge (30 s, the edge's cache
// TTL), which this test checks.
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
	// Silently: the event is lost (the stream was down), so only the bound
	// stops the cached assertion.
	h.auth.RevokeSilently(authtest.KeyID(t, key))
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

// TestRevocationReachesTheAdapterAtOnce: the adapter follows auth's
// revocation stream, so revoking its tenant key, or a change of the key's
// subject's role, stops the cached assertion at once — no clock moves here.
func TestRevocationReachesTheAdapterAtOnce(t *testing.T) {
	h := grounded(t)
	require.Eventually(t, func() bool { return h.auth.Subscriptions() > 0 }, 30*time.Second, 10*time.Millisecond,
		"the adapter subscribes to auth's revocation stream")
	mention := func(id, ts string) {
		st, out := h.send(t, h.signed("/slack/events", "application/json", eventBody("T1", id, mentionEv("how often do VPN certificates rotate?", ts))))
		require.Equal(t, http.StatusOK, st, out)
	}
	mention("EvQ1", "1800000020.000100")
	h.final(t, recv(t, h.slack.Posts()))
	verified := h.auth.VerifyCalls.Load()
	mention("EvQ2", "1800000021.000100")
	h.final(t, recv(t, h.slack.Posts()))
	require.Equal(t, verified, h.auth.VerifyCalls.Load(), "the cached assertion serves")

	var key string
	for _, c := range h.auth.Created() {
		if c.Tenant == "t_acme" {
			key = c.Plaintext
		}
	}
	require.NotEmpty(t, key)
	h.auth.Revoke(authtest.KeyID(t, key), "t_acme")
	// The event drops the assertion; the next mention verifies the key
	// again (and fails), with the clock where it was.
	require.Eventually(t, func() bool {
		mentionID := fmt.Sprintf("EvQ3-%d", time.Now().UnixNano())
		mention(mentionID, fmt.Sprintf("1800000022.%06d", time.Now().Nanosecond()/1000))
		select {
		case p := <-h.slack.Posts():
			h.final(t, p) // answered from the cache before the event arrived
			return false
		case <-time.After(300 * time.Millisecond):
		}
		return h.auth.VerifyCalls.Load() > verified
	}, 10*time.Second, 10*time.Millisecond, "the revocation must reach the adapter without waiting for MaxAssertionAge")
}
