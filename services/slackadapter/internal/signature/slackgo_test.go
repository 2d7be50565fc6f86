package signature_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
)

// TestSignMatchesSlackVectors pins Sign, which the adapter's tests and
// benchmark sign their requests with, to published vectors: the example of
// Slack's "Verifying requests from Slack" guide and the one slack-go's own
// security tests use. Verify cannot take them: their timestamps (2018) are
// long outside the window slack-go checks against the wall clock; it is
// tested by round trips with Sign in TestVerify.
func TestSignMatchesSlackVectors(t *testing.T) {
	tests := []struct {
		name, secret, ts, body, want string
	}{
		{
			name:   "Slack's guide",
			secret: "8f742231b10e8888abcd99yyyzzz85a5",
			ts:     "1531420618",
			body:   "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
			want:   "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
		},
		{
			name:   "slack-go security_test.go",
			secret: "e6b19c573432dcc6b075501d51b51bb8",
			ts:     "1531431954",
			body:   `{"token":"aF5ynEYQH0dFN9imlgcADxDB","team_id":"XXXXXXXXX","api_app_id":"YYYYYYYYY","event":{"type":"app_mention","user":"AAAAAAAAA","text":"<@EEEEEEEEE> hello world","client_msg_id":"477cc591-ch73-a14z-4db8-g0cd76321bec","ts":"1531431954.000073","channel":"TTTTTTTTT","event_ts":"1531431954.000073"},"type":"event_callback","event_id":"TvBP7LRED7","event_time":1531431954,"authed_users":["EEEEEEEEE"]}`,
			want:   "v0=adada4ed31709aef585c2580ca3267678c6a8eaeb7e0c1aca3ee57b656886b2c",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, signature.Sign([]byte(tt.secret), tt.ts, []byte(tt.body)))
		})
	}
}
