package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The escalation review of 2026-12-06 (docs/security.md), through the real
// stack over REST.

type reviewMember struct {
	Member struct {
		MemberID string `json:"member_id"`
		Role     string `json:"role"`
	} `json:"member"`
}

// TestReviewDemotionBindsAtOnce: an owner demotes an admin whose key the
// edge has just verified (and cached). The demoted key can neither undo the
// demotion (auth reads the caller's role from its store) nor, within a
// second, use its former admin role anywhere (auth pushes KEY_CHANGED and
// the edge verifies the key again).
func TestReviewDemotionBindsAtOnce(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rev-demote")
	var m reviewMember
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/members", tn.owner,
		map[string]any{"subject": "admin@rev-demote", "role": "ROLE_ADMIN"}, &m))
	admin := mustKey(t, s, tn.owner, map[string]any{"name": "admin", "subject": "admin@rev-demote", "scopes": []string{"admin"}})
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/audit", admin.APIKey, nil, nil), "the edge caches the admin's principal")

	memberURL := s.baseURL + "/v1/members/" + m.Member.MemberID
	require.Equal(t, http.StatusOK, do(t, http.MethodPatch, memberURL, tn.owner, map[string]any{"role": "ROLE_MEMBER"}, nil))
	demotedAt := time.Now()
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPatch, memberURL, admin.APIKey, map[string]any{"role": "ROLE_ADMIN"}, nil),
		"the demoted admin must not re-promote herself")
	require.Eventually(t, func() bool {
		return do(t, http.MethodGet, s.baseURL+"/v1/audit", admin.APIKey, nil, nil) == http.StatusForbidden
	}, 2*time.Second, 20*time.Millisecond, "the demotion must bind at the edge within the revocation latency, not the 30 s cache TTL")
	t.Logf("demotion visible at the edge after %s", time.Since(demotedAt))

	var got reviewMember
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, memberURL, tn.owner, nil, &got))
	require.Equal(t, "ROLE_MEMBER", got.Member.Role)
}

// TestReviewOwnerCannotLiftPlatformLimits: limits the platform operator
// sets on a tenant are its ceiling (ADR 0058).
func TestReviewOwnerCannotLiftPlatformLimits(t *testing.T) {
	s := startStack(t)
	tn := newEscalationTenant(t, s, "rev-ceiling")
	url := s.baseURL + "/v1/tenants/" + tn.id + "/limits"
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, url, s.env["RAMPART_ADMIN_KEY"],
		map[string]any{"monthly_token_budget": 1000, "allowed_models": []string{"echo"}}, nil))
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPut, url, tn.owner, map[string]any{}, nil), "no limits at all")
	require.Equal(t, http.StatusForbidden, do(t, http.MethodPut, url, tn.owner,
		map[string]any{"monthly_token_budget": 1001, "allowed_models": []string{"echo"}}, nil), "a bigger budget")
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, url, tn.owner,
		map[string]any{"monthly_token_budget": 500, "allowed_models": []string{"echo"}}, nil), "narrowing is the owner's")
}
