package signature_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
)

// TestVerify runs at the wall clock: slack-go's verifier, which Verify
// wraps, checks the timestamp against time.Now as well as ours against the
// injected clock. Cases fresh by both stay 5 s inside the window so a slow
// run cannot cross it; the ±301 s cases pin our own boundary.
func TestVerify(t *testing.T) {
	secret := []byte("8f742231b10e8888abcd99yyyzzz85a5")
	now := time.Now()
	body := []byte(`{"type":"event_callback","event_id":"Ev1","team_id":"T1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := signature.Sign(secret, ts, body)

	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		secret []byte
		now    time.Time
		ts     string
		sig    string
		body   []byte
		want   error
	}{
		{"valid", secret, now, ts, good, body, nil},
		{"valid 295s old", secret, now, at(-295 * time.Second), signature.Sign(secret, at(-295*time.Second), body), body, nil},
		{"valid 295s ahead", secret, now, at(295 * time.Second), signature.Sign(secret, at(295*time.Second), body), body, nil},
		{"stale", secret, now, at(-301 * time.Second), signature.Sign(secret, at(-301*time.Second), body), body, signature.ErrStale},
		{"future", secret, now, at(301 * time.Second), signature.Sign(secret, at(301*time.Second), body), body, signature.ErrStale},
		{"stale by the injected clock, fresh by the wall clock", secret, now.Add(10 * time.Minute), ts, good, body, signature.ErrStale},
		{"fresh by the injected clock, stale by the wall clock", secret, now.Add(-10 * time.Minute), at(-10 * time.Minute), signature.Sign(secret, at(-10*time.Minute), body), body, signature.ErrStale},
		{"tampered body", secret, now, ts, good, []byte(`{"type":"event_callback","event_id":"Ev2","team_id":"T1"}`), signature.ErrMismatch},
		{"wrong secret", []byte("another-secret"), now, ts, good, body, signature.ErrMismatch},
		{"timestamp swapped under a valid signature", secret, now, at(time.Second), good, body, signature.ErrMismatch},
		{"missing signature", secret, now, ts, "", body, signature.ErrMissing},
		{"missing timestamp", secret, now, "", good, body, signature.ErrMissing},
		{"signature version v1", secret, now, ts, "v1=" + good[3:], body, signature.ErrMalformed},
		{"signature not hex", secret, now, ts, "v0=" + string(make([]byte, 64)), body, signature.ErrMalformed},
		{"signature truncated", secret, now, ts, good[:len(good)-2], body, signature.ErrMalformed},
		{"signature too long", secret, now, ts, good + "00", body, signature.ErrMalformed},
		{"negative timestamp", secret, now, "-" + ts, good, body, signature.ErrMalformed},
		{"timestamp with plus sign", secret, now, "+" + ts, signature.Sign(secret, "+"+ts, body), body, signature.ErrMalformed},
		{"timestamp with space", secret, now, " " + ts, good, body, signature.ErrMalformed},
		{"no secret configured", nil, now, ts, good, body, signature.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.Verify(tt.secret, tt.ts, tt.sig, tt.body, tt.now)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.NotContains(t, err.Error(), string(secret), "errors never carry the secret")
			require.NotContains(t, err.Error(), good[3:], "errors never carry a signature")
		})
	}
}

// FuzzVerify: arbitrary headers and bodies never panic, and only the
// correctly signed, fresh request verifies.
func FuzzVerify(f *testing.F) {
	secret := []byte("fuzz-secret")
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(ts, signature.Sign(secret, ts, []byte("x")), []byte("x"))
	f.Add("", "", []byte{})
	f.Add("99999999999999999999", "v0=zz", []byte("{}"))
	f.Add(ts, "v0="+string(make([]byte, 64)), []byte("payload"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := signature.Verify(secret, ts, sig, body, now)
		if err == nil {
			require.Equal(t, signature.Sign(secret, ts, body), sig, "only the true signature verifies")
		}
		// Re-signing what was received always verifies if fresh.
		if good := signature.Sign(secret, ts, body); signature.Verify(secret, ts, good, body, now) == nil {
			require.Error(t, signature.Verify(secret, ts, good, append(append([]byte{}, body...), '!'), now))
		}
	})
}
