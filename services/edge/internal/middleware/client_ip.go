package middleware

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// ClientIP returns the client address computed by ClientAddr, or "".
func ClientIP(ctx context.Context) string {
	if st := reqstate.From(ctx); st != nil {
		return st.ClientIP
	}
	return ""
}

// ClientAddr determines the client's IP: the TCP peer, unless the peer is
// one of trusted (e.g. the load balancer or API Gateway VPC link), in which
// case the right-most X-Forwarded-For entry that is not itself trusted. It
// then removes X-Forwarded-For and X-Forwarded-Host from the request so no
// client-supplied value travels further; the gateway sends the computed
// address to backends as x-forwarded-for.
func ClientAddr(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, text := peerIP(r.RemoteAddr)
		if isTrusted(trusted, ip) {
			xff := r.Header[headerXFF]
			for i := len(xff) - 1; i >= 0; i-- {
				parts := strings.Split(xff[i], ",")
				found := false
				for j := len(parts) - 1; j >= 0; j-- {
					a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
					if err != nil {
						found = true // garbage: stop trusting further left
						break
					}
					ip, text = a.Unmap(), ""
					if !isTrusted(trusted, ip) {
						found = true
						break
					}
				}
				if found {
					break
				}
			}
		}
		delete(r.Header, headerXFF) // canonical names: header_keys.go
		delete(r.Header, headerXFH)
		st, r := reqstate.Ensure(r)
		st.ClientIP = text
		if text == "" && ip.IsValid() {
			st.ClientIP = ip.String()
		}
		next.ServeHTTP(w, r)
	})
}

// peerIP is the TCP peer's address and, when the peer wrote it in the
// canonical form already, that text (else ""): ParseAddr accepts IPv4 only
// as four decimal fields without leading zeros, so an IPv4 host is
// exactly its String(), which would allocate the same text again on every
// request (issue 15).
func peerIP(remote string) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, ""
	}
	if a.Is4() {
		return a, host
	}
	return a.Unmap(), ""
}

func isTrusted(trusted []netip.Prefix, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
