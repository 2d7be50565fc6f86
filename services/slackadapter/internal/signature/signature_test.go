package signature_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
)

func TestVerify(t *testing.T) {
	secret := []byte("8f742231b10e8888abcd99yyyzzz85a5")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"event_callback","event_id":"Ev1","team_id":"T1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := signature.Sign(secret, ts, body)

	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		secret []byte
		ts     string
		sig    string
		body   []byte
		want   error
	}{
		{"valid", secret, ts, good, body, nil},
		{"valid 299s old", secret, at(-299 * time.Second), signature.Sign(secret, at(-299*time.Second), body), body, nil},
		{"valid 299s ahead", secret, at(299 * time.Second), signature.Sign(secret, at(299*time.Second), body), body, nil},
		{"stale", secret, at(-301 * time.Second), signature.Sign(secret, at(-301*time.Second), body), body, signature.ErrStale},
		{"future", secret, at(301 * time.Second), signature.Sign(secret, at(301*time.Second), body), body, signature.ErrStale},
		{"tampered body", secret, ts, good, []byte(`{"type":"event_callback","event_id":"Ev2","team_id":"T1"}`), signature.ErrMismatch},
		{"wrong secret", []byte("another-secret"), ts, good, body, signature.ErrMismatch},
		{"timestamp swapped under a valid signature", secret, at(time.Second), good, body, signature.ErrMismatch},
		{"missing signature", secret, ts, "", body, signature.ErrMissing},
		{"missing timestamp", secret, "", good, body, signature.ErrMissing},
		{"signature version v1", secret, ts, "v1=" + good[3:], body, signature.ErrMalformed},
		{"signature not hex", secret, ts, "v0=" + string(make([]byte, 64)), body, signature.ErrMalformed},
		{"signature truncated", secret, ts, good[:len(good)-2], body, signature.ErrMalformed},
		{"negative timestamp", secret, "-" + ts, good, body, signature.ErrMalformed},
		{"timestamp with space", secret, " " + ts, good, body, signature.ErrMalformed},
		{"no secret configured", nil, ts, good, body, signature.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.Verify(tt.secret, tt.ts, tt.sig, tt.body, now)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.NotContains(t, err.Error(), string(secret), "errors never carry the secret")
		})
	}
}

// FuzzVerify: arbitrary headers and bodies never panic, and only the
// correctly signed, fresh request verifies.
func FuzzVerify(f *testing.F) {
	secret := []byte("fuzz-secret")
	now := time.Unix(1_800_000_000, 0)
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
