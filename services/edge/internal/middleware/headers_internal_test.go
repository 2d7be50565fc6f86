package middleware

import (
	"strings"
	"testing"
)

// reservedSlow is reserved without the first-byte filter: the definition.
func reservedSlow(name string) bool {
	for _, p := range reservedPrefixes {
		if len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// TestReservedFirstByte: the first-byte filter changes no answer, for
// every byte in front of each prefix's rest (in its own case, upper and
// lower), for the prefixes alone and for ordinary names.
func TestReservedFirstByte(t *testing.T) {
	names := []string{"", "G", "x", "Grpc", "Content-Type", "X-Request-Id", "X-Rampart", "Grpc-Timeout", "grpc-metadata-a", "X-RAMPART-PRINCIPAL", "\u212Arpc-", "\xc7rpc-"}
	for _, p := range reservedPrefixes {
		for _, rest := range []string{p[1:], strings.ToUpper(p[1:]), strings.ToLower(p[1:])} {
			for b := range 256 {
				names = append(names, string([]byte{byte(b)})+rest, string([]byte{byte(b)})+rest+"X")
			}
		}
	}
	for _, n := range names {
		if got, want := reserved(n), reservedSlow(n); got != want {
			t.Errorf("reserved(%q) = %v, want %v", n, got, want)
		}
	}
	if !reserved("grpc-timeout") || !reserved("x-rampart-principal") || reserved("X-Request-Id") {
		t.Error("the filter must keep the reserved names and pass over the others")
	}
}
