package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
	hexSig, ok := strings.CutPrefix(sig, prefix)
	if !ok || len(hexSig) != sha256.Size*2 {
		return fmt.Errorf("%w: signature is not v0=<64 hex digits>", ErrMalformed)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrMalformed)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrMismatch
	}
	return nil
}

// Sign returns the X-Slack-Signature value for body at timestamp ts (Unix
// seconds as sent in X-Slack-Request-Timestamp). Tests and the benchmark use
// it to produce real signed payloads.
func Sign(secret []byte, ts string, body []byte) string {
	return prefix + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("v0:"))
	h.Write([]byte(ts))
	h.Write([]byte(":"))
	h.Write(body)
	return h.Sum(nil)
}
