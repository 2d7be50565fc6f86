package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Header names Slack signs requests with.
const (
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	HeaderSignature = "X-Slack-Signature"
)

// MaxSkew is how far the request timestamp may be from now, either way.
const MaxSkew = 300 * time.Second

// Errors. They never carry the secret, the expected signature or the body.
var (
	ErrMissing   = errors.New("signature: missing X-Slack-Signature or X-Slack-Request-Timestamp")
	ErrMalformed = errors.New("signature: malformed")
	ErrStale     = errors.New("signature: timestamp outside the allowed window")
	ErrMismatch  = errors.New("signature: does not match")
)

const prefix = "v0="

// Verify checks sig (the X-Slack-Signature value) and ts (the
// X-Slack-Request-Timestamp value) for body under secret at time now.
//
// The HMAC and its constant-time comparison are slack-go's
// SecretsVerifier. Around it Verify keeps the checks slack-go does not
// make: the timestamp must be plain Unix seconds (slack-go's ParseInt takes
// "+1800000000" and 19-digit values) and within MaxSkew of now, the
// adapter's injectable clock. slack-go also checks its own ±5 minutes
// against the wall clock; in production now is the wall clock, so the two
// windows are the same one.
func Verify(secret []byte, ts, sig string, body []byte, now time.Time) error {
	if ts == "" || sig == "" {
		return ErrMissing
	}
	if len(secret) == 0 {
		return fmt.Errorf("%w: no signing secret", ErrMismatch)
	}
	// Unix seconds: digits only, no sign, bounded length.
	if len(ts) > 12 || strings.TrimLeft(ts, "0123456789") != "" {
		return fmt.Errorf("%w: timestamp", ErrMalformed)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp", ErrMalformed)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	v, err := slack.NewSecretsVerifier(http.Header{HeaderTimestamp: {ts}, HeaderSignature: {sig}}, string(secret))
	if err != nil {
		return slackError(err)
	}
	if _, err := v.Write(body); err != nil {
		return fmt.Errorf("%w: hash body", ErrMismatch)
	}
	if v.Ensure() != nil {
		return ErrMismatch
	}
	return nil
}

// slackError maps slack-go's constructor errors onto ours. Its hex decoding
// error names the offending byte of the signature, so it is not wrapped.
func slackError(err error) error {
	switch {
	case errors.Is(err, slack.ErrMissingHeaders):
		return ErrMissing
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return ErrStale
	case errors.Is(err, slack.ErrInvalidConfiguration):
		return fmt.Errorf("%w: no signing secret", ErrMismatch)
	default: // ErrInvalidSignature or a hex.InvalidByteError
		return fmt.Errorf("%w: signature is not v0=<64 hex digits>", ErrMalformed)
	}
}

// Sign returns the X-Slack-Signature value for body at timestamp ts (Unix
// seconds as sent in X-Slack-Request-Timestamp). Tests and the benchmark use
// it to produce real signed payloads; it is checked against Slack's
// published test vectors.
func Sign(secret []byte, ts string, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("v0:"))
	h.Write([]byte(ts))
	h.Write([]byte(":"))
	h.Write(body)
	return prefix + hex.EncodeToString(h.Sum(nil))
}
