package signature_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
)

// The adapter keeps its own verifier because slack-go's SecretsVerifier
// reads the wall clock (time.Since), which the adapter's tests and
// benchmark inject, and accepts timestamps such as "+1800000000"; on every
// request Slack can send, the two must agree. This checks it at the real
// clock with slack-go as the reference.
func TestAgreesWithSlackGoVerifier(t *testing.T) {
	secret := "8f742231b10e8888abcd99yyyzzz85a5"
	body := []byte(`token=x&team_id=T1&command=%2Frampart&text=hello`)
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	old := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	tests := []struct {
		name    string
		ts, sig string
		body    []byte
		ok      bool
	}{
		{"valid", ts, signature.Sign([]byte(secret), ts, body), body, true},
		{"tampered body", ts, signature.Sign([]byte(secret), ts, body), append([]byte("x"), body...), false},
		{"other secret", ts, signature.Sign([]byte("other"), ts, body), body, false},
		{"stale", old, signature.Sign([]byte(secret), old, body), body, false},
		{"timestamp not signed", strconv.FormatInt(now.Unix()-1, 10), signature.Sign([]byte(secret), ts, body), body, false},
		{"no v0 prefix", ts, signature.Sign([]byte(secret), ts, body)[3:], body, false},
		{"missing signature", ts, "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := signature.Verify([]byte(secret), tt.ts, tt.sig, tt.body, time.Now())
			hdr := http.Header{}
			hdr.Set(signature.HeaderTimestamp, tt.ts)
			if tt.sig != "" {
				hdr.Set(signature.HeaderSignature, tt.sig)
			}
			theirs := func() error {
				v, err := slack.NewSecretsVerifier(hdr, secret)
				if err != nil {
					return err
				}
				if _, err := v.Write(tt.body); err != nil {
					return err
				}
				return v.Ensure()
			}()
			require.Equal(t, tt.ok, ours == nil, "ours: %v", ours)
			require.Equal(t, tt.ok, theirs == nil, "slack-go: %v", theirs)
		})
	}
}
