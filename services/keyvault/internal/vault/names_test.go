package vault

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
)

// TestCanonicalNameRefusesPathTricks (escalation review 2026-12-06): a
// secret name is the key of the secrets policy and of service ownership
// (policy.Owner reads its second segment), so no spelling may name one
// secret two ways or climb out of its prefix. Dot segments, empty
// segments, escapes, backslashes, look-alike slashes and control bytes are
// all refused; what is accepted is the name itself, with one leading "/".
func TestCanonicalNameRefusesPathTricks(t *testing.T) {
	for _, name := range []string{
		"/prod/app/../slackadapter/bot-token/T1",
		"/prod/app/./db/password",
		"/prod/slackadapter/bot-token/..",
		"/prod//slackadapter/bot-token/T1",
		"//prod/slackadapter/bot-token/T1",
		"/prod/slackadapter/bot-token/T1/",
		"/prod/app%2F..%2Fslackadapter/bot-token/T1",
		"/prod/%2e%2e/slackadapter/bot-token/T1",
		`/prod/app\..\slackadapter/bot-token/T1`,
		"/prod/app\u2215slackadapter/bot-token/T1", // division slash
		"/prod/app\uff0fslackadapter/bot-token/T1", // fullwidth solidus
		"/prod/slackadapter/bot-token/T1\x00",
		"/prod/slack adapter/bot-token/T1",
		"/prod/slackadapter/bot-token",
		"",
	} {
		_, err := CanonicalName(name)
		require.Error(t, err, "%q must be refused", name)
	}
	for in, want := range map[string]string{
		"prod/slackadapter/bot-token/T1":  "/prod/slackadapter/bot-token/T1",
		"/prod/slackadapter/bot-token/T1": "/prod/slackadapter/bot-token/T1",
		"/prod/app/db/pass.word+x=y@z-1":  "/prod/app/db/pass.word+x=y@z-1",
	} {
		got, err := CanonicalName(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	// What a canonical name's owner is cannot change with its spelling:
	// every accepted spelling of an owned name is owned.
	got, err := CanonicalName("prod/slackadapter/bot-token/T1")
	require.NoError(t, err)
	require.NotEmpty(t, policy.Owner(got))
	require.Empty(t, policy.Owner("/prod/SlackAdapter/bot-token/T1"), "ownership is by exact segment; the adapter uses only its own spelling")
}

// TestCanonicalNameMessages pins which rule a bad name is refused by (the
// segments are checked in place since ADR 0068; the answers are as before).
func TestCanonicalNameMessages(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "name: required"},
		{"/a/b/c", "must be /{env}/{service}/{type}/{name}"},
		{"a/b", "must be /{env}/{service}/{type}/{name}"},
		{"/a//b/c", "empty path segment"},
		{"//a/b/c", "empty path segment"},
		{"/a/b/c/", "empty path segment"},
		{"/a/./c/d", `segment "." is not allowed`},
		{"/a/b/c/..", `segment ".." is not allowed`},
		{"/a/b/c/d$", `character '$' at offset 8`},
	} {
		_, err := CanonicalName(tc.name)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}
