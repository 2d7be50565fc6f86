package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// Role is not a scope (issue 10, reproduction 6): the owner/admin role never
// stands in for usage:read; it only narrows it (prompt logs need both).
func TestRoleIsNotAScope(t *testing.T) {
	e := newEnv(t)
	type want struct{ usage, logs codes.Code }
	denied := codes.PermissionDenied
	cases := []struct {
		name   string
		roles  []string
		scopes []string
		want   want
	}{
		// The reproduction: an owner's chat:write key read every prompt log.
		{"owner chat:write", []string{"owner"}, []string{"chat:write"}, want{denied, denied}},
		{"admin chat:write", []string{"admin"}, []string{"chat:write"}, want{denied, denied}},
		{"owner no scopes", []string{"owner"}, nil, want{denied, denied}},
		{"member usage:read", []string{"member"}, []string{"usage:read"}, want{codes.OK, denied}},
		{"viewer usage:read", []string{"viewer"}, []string{"usage:read"}, want{codes.OK, denied}},
		{"no role usage:read", nil, []string{"usage:read"}, want{codes.OK, denied}},
		{"member admin scope", []string{"member"}, []string{"admin"}, want{codes.OK, denied}},
		{"owner usage:read", []string{"owner"}, []string{"usage:read"}, want{codes.OK, codes.OK}},
		{"admin usage:read", []string{"admin"}, []string{"usage:read"}, want{codes.OK, codes.OK}},
		{"owner admin scope", []string{"owner"}, []string{"admin"}, want{codes.OK, codes.OK}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := principalFor("t-roles", "k1", func(p *authv1.Principal) { p.Roles, p.Scopes = tc.roles, tc.scopes })
			_, err := e.client.GetUsage(e.ctx(t, p), &inferencev1.GetUsageRequest{})
			require.Equal(t, tc.want.usage, status.Code(err), "GetUsage: %v", err)

			_, err = e.client.ListPromptLogs(e.ctx(t, p), &inferencev1.ListPromptLogsRequest{})
			require.Equal(t, tc.want.logs, status.Code(err), "ListPromptLogs: %v", err)
			if tc.want.logs == denied {
				require.Contains(t, status.Convert(err).Message(), "usage:read")
			}

			// GetPromptLog is checked before the lookup: a denied caller gets
			// PermissionDenied, an allowed one NotFound for an unknown id.
			wantGet := tc.want.logs
			if wantGet == codes.OK {
				wantGet = codes.NotFound
			}
			_, err = e.client.GetPromptLog(e.ctx(t, p), &inferencev1.GetPromptLogRequest{RequestId: "req-none"})
			require.Equal(t, wantGet, status.Code(err), "GetPromptLog: %v", err)
		})
	}
}

// Every method needs the scope pkg/permissions names for it: embeddings
// need embeddings:write (a chat:write key, whatever its role, gets 403).
func TestMethodScopes(t *testing.T) {
	e := newEnv(t)
	embed := func(p *authv1.Principal) codes.Code {
		_, err := e.client.Embeddings(e.ctx(t, p), &inferencev1.EmbeddingsRequest{Body: []byte(`{"model":"rampart-hash-embed","input":"x"}`)})
		return status.Code(err)
	}
	chat := func(p *authv1.Principal) codes.Code {
		_, err := e.client.ChatCompletion(e.ctx(t, p), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "hi", "")})
		return status.Code(err)
	}
	with := func(roles, scopes []string) *authv1.Principal {
		return principalFor("t-scopes", "k1", func(p *authv1.Principal) { p.Roles, p.Scopes = roles, scopes })
	}
	require.Equal(t, codes.PermissionDenied, embed(with([]string{"owner"}, []string{"chat:write"})))
	require.Equal(t, codes.OK, embed(with([]string{"member"}, []string{"embeddings:write"})))
	require.Equal(t, codes.OK, embed(with([]string{"owner"}, []string{"admin"})))
	require.Equal(t, codes.PermissionDenied, chat(with([]string{"owner"}, []string{"embeddings:write"})))
	require.Equal(t, codes.OK, chat(with([]string{"viewer"}, []string{"chat:write"})), "the edge applies minimum roles; inference the scope")
}
