package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/slackfake"
)

// TestInstallLinkDiesWithItsAdminsKey (ADR 0118): an install link is
// bound to the key of the admin who asked for it. When auth revokes or
// changes that key — her demotion or removal — the adapter drops the
// link's state: it neither opens nor installs, while another admin's link
// still does. Before, the link bound a workspace to the tenant for its
// whole lifetime (STATE_TTL) whatever happened to her.
func TestInstallLinkDiesWithItsAdminsKey(t *testing.T) {
	h := start(t, harnessOpts{})
	h.configure(t)
	resp, err := h.client.GetInstallUrl(h.admin(t, "t_acme"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)
	slackURL, cookie := h.openInstallLink(t, resp.GetUrl())
	link, err := url.Parse(resp.GetUrl())
	require.NoError(t, err)
	other, err := h.client.GetInstallUrl(h.admin(t, "t_other"), &slackadapterv1.GetInstallUrlRequest{})
	require.NoError(t, err)

	// h.admin's principal presents key "admin-<tenant>".
	h.auth.PublishRevocation(&authv1.WatchRevocationsResponse{Kind: authv1.RevocationKind_REVOCATION_KIND_KEY_CHANGED,
		KeyId: "admin-t_acme", TenantId: "t_acme"})
	require.Eventually(t, func() bool {
		st, _ := h.send(t, &slackadapterv1.HandleEventRequest{Method: http.MethodGet, Path: link.Path, RawQuery: link.RawQuery})
		return st == http.StatusBadRequest
	}, 5*time.Second, 20*time.Millisecond, "the demoted admin's link no longer opens")
	h.slack.AddCode("code-T1", slackfake.Grant{TeamID: "T1", TeamName: "Acme", BotUserID: "UBOT1"})
	st, body := h.callback(t, "code-T1", slackURL.Query().Get("state"), cookie)
	require.Equal(t, http.StatusBadRequest, st, body)
	list, err := h.client.ListInstallations(h.admin(t, "t_acme"), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetInstallations(), "nothing was installed")

	h.openInstallLink(t, other.GetUrl()) // another admin's link is untouched
}
