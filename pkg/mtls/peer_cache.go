package mtls

import (
	"crypto/x509"
	"sync"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// peerIDCacheMax bounds the certificates peerIDs remembers. A server sees
// one leaf per connection (a handful of callers, plus one per reconnect
// or rotation); when full it starts over, so certificates of closed
// connections are not kept for long.
const peerIDCacheMax = 256

// peerIDs remembers the SPIFFE ID of each verified peer leaf certificate.
// PeerID runs on every call, often more than once (the access log, the
// handler's caller check), and IDFromCert re-renders and re-parses the URI
// SAN each time: ~5 % of keyvault's CPU per secret read (issue 15, ADR
// 0055). The key is the *x509.Certificate the TLS stack parsed for the
// connection: certificates are never modified after parsing, and the entry
// holds the pointer, so it cannot be freed and reused for another one while
// cached. Only successes are cached; errors are recomputed.
var peerIDs = peerIDCache{m: make(map[*x509.Certificate]spiffeid.ID)}

type peerIDCache struct {
	mu sync.RWMutex
	m  map[*x509.Certificate]spiffeid.ID
}

func (c *peerIDCache) id(cert *x509.Certificate) (spiffeid.ID, error) {
	c.mu.RLock()
	id, ok := c.m[cert]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	id, err := IDFromCert(cert)
	if err != nil {
		return spiffeid.ID{}, err
	}
	c.mu.Lock()
	if len(c.m) >= peerIDCacheMax {
		clear(c.m)
	}
	c.m[cert] = id
	c.mu.Unlock()
	return id, nil
}
