package permissions

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// memoSize is how many answers a table's memo holds (a power of two), and
// memoMaxPath the longest path it keeps: at most ~300 KB per table
// however many distinct paths clients send.
const (
	memoSize    = 1024
	memoMaxPath = 256
)

// memo keeps Match's recent answers for paths the literal map does not
// hold (a secret read's /v1/secrets/{name}:value): a direct-mapped array
// of immutable entries, each Match's own answer for its method and path.
// The table never changes after New, so an entry is right for as long as
// it is there; a colliding path replaces it. Matching a secret read among
// its candidate routes cost ~5k instructions per request in the real edge,
// a look-up here a few hundred (issue 15, ADR 0082).
type memo struct {
	seed    maphash.Seed
	entries [memoSize]atomic.Pointer[memoEntry]
}

type memoEntry struct {
	method, path string
	m            matched
}

func newMemo() *memo { return &memo{seed: maphash.MakeSeed()} }

// slot is where (method, path) lives. The method only spreads the paths
// of different methods; get compares both.
func (c *memo) slot(method, path string) *atomic.Pointer[memoEntry] {
	h := maphash.String(c.seed, path) + uint64(len(method))
	if method != "" {
		h += uint64(method[0]) << 8
	}
	return &c.entries[h&(memoSize-1)]
}

func (c *memo) get(method, path string) (matched, bool) {
	if len(path) > memoMaxPath {
		return matched{}, false
	}
	if e := c.slot(method, path).Load(); e != nil && e.path == path && e.method == method {
		return e.m, true
	}
	return matched{}, false
}

// put keeps m as the answer for (method, path). The strings are copied:
// an entry must not hold the request they came from.
func (c *memo) put(method, path string, m matched) {
	if len(path) > memoMaxPath {
		return
	}
	c.slot(method, path).Store(&memoEntry{method: strings.Clone(method), path: strings.Clone(path), m: m})
}
