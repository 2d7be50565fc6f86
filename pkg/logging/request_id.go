package logging

import (
	"crypto/rand"
	"encoding/hex"
)

// MaxRequestIDLen bounds what a caller can make every service log per line.
const MaxRequestIDLen = 128

// ValidRequestID reports whether an incoming request id may be kept:
// 1–128 characters of [A-Za-z0-9._:-], so it is safe in logs and headers.
// The edge (HTTP) and every gRPC service (pkg/serve) apply the same rule.
func ValidRequestID(s string) bool {
	if s == "" || len(s) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// NewRequestID returns a random 128-bit request id in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
