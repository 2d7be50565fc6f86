package mtls

import (
	"crypto/x509"
	"maps"
	"sync"
	"sync/atomic"

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
//
// Reads take no lock (ADR 0061): the map is replaced, never changed, so a
// call only loads a pointer; under load an RWMutex's reader count was one
// more cache line both cores wrote on every call. A new certificate (a new
// connection) copies at most peerIDCacheMax entries.
var peerIDs peerIDCache

type peerIDCache struct {
	m  atomic.Pointer[map[*x509.Certificate]spiffeid.ID]
	mu sync.Mutex // serialises replacing m
}

func (c *peerIDCache) id(cert *x509.Certificate) (spiffeid.ID, error) {
	if m := c.m.Load(); m != nil {
		if id, ok := (*m)[cert]; ok {
			return id, nil
		}
	}
	id, err := IDFromCert(cert)
	if err != nil {
		return spiffeid.ID{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	next := make(map[*x509.Certificate]spiffeid.ID)
	if m := c.m.Load(); m != nil && len(*m) < peerIDCacheMax {
		maps.Copy(next, *m)
	}
	next[cert] = id
	c.m.Store(&next)
	return id, nil
}

// len is the number of certificates remembered.
func (c *peerIDCache) len() int {
	if m := c.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}
