package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// slackSign computes Slack's v0 request signature independently of the
// adapter's code, as Slack would.
func slackSign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// setSlackApp sets the Slack app as the platform operator does: the CLI
// over mTLS with the rampart-cli certificate, secrets from the environment.
func setSlackApp(t *testing.T, s *stack, clientID, clientSecret, signingSecret string) {
	t.Helper()
	cli := exec.Command(filepath.Join(binDir, "rampart"), "slack", "app", "set", "--client-id", clientID,
		"--cert-dir", s.env["RAMPART_CA_DIR"], "--slackadapter-addr", s.env["RAMPART_SLACKADAPTER_ADDR"])
	cli.Env = append(devenv.Clean(), "SLACK_CLIENT_SECRET="+clientSecret, "SLACK_SIGNING_SECRET="+signingSecret)
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), clientID)
	require.NotContains(t, string(out), signingSecret)
}

// TestSlackEventsThroughEdge: a tenant admin (here the bootstrap owner)
// cannot configure the Slack app through the REST API (403: it is
// deployment configuration); the operator sets it with the CLI over mTLS.
// Slack-signed requests to the public /slack/events route are then
// verified: a valid url_verification is answered, a bad or stale signature
// is refused before anything is parsed.
func TestSlackEventsThroughEdge(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]
	const signingSecret = "e2e-signing-secret-0123456789abcdef"
	code := do(t, http.MethodPut, s.baseURL+"/v1/slack/app", admin, map[string]any{
		"client_id": "123.456", "client_secret": "e2e-client-secret", "signing_secret": signingSecret,
	}, nil)
	require.Equal(t, http.StatusForbidden, code, "no tenant, owner included, sets the Slack app")
	setSlackApp(t, s, "123.456", "e2e-client-secret", signingSecret)

	body := []byte(`{"type":"url_verification","token":"x","challenge":"e2e-challenge-42"}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
	tests := []struct {
		name       string
		ts, sig    string
		wantStatus int
	}{
		{"valid signature", now, slackSign(signingSecret, now, body), http.StatusOK},
		{"wrong secret", now, slackSign("not-the-secret", now, body), http.StatusUnauthorized},
		{"stale timestamp", stale, slackSign(signingSecret, stale, body), http.StatusUnauthorized},
		{"no signature", now, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.baseURL+"/slack/events", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Slack-Request-Timestamp", tt.ts)
			if tt.sig != "" {
				req.Header.Set("X-Slack-Signature", tt.sig)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			if tt.wantStatus == http.StatusOK {
				require.Equal(t, http.StatusOK, resp.StatusCode, string(got))
				var ch struct {
					Challenge string `json:"challenge"`
				}
				if json.Unmarshal(got, &ch) == nil && ch.Challenge != "" {
					require.Equal(t, "e2e-challenge-42", ch.Challenge)
				} else {
					require.Contains(t, string(got), "e2e-challenge-42")
				}
				return
			}
			require.Equal(t, tt.wantStatus, resp.StatusCode, string(got))
			require.NotContains(t, string(got), "e2e-challenge-42")
			require.JSONEq(t, `{"error":{"message":"invalid Slack signature","type":"authentication_error","param":null,"code":"invalid_signature"}}`,
				string(got), "the edge's one error body")
		})
	}
}
