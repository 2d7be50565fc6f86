package principal

import (
	"iter"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// MaxRatePools is how many nested rate pools (ADR 0086) a key is charged
// to per dimension besides its own bucket: auth refuses to mint a key that
// would sit below more limited keys, so the edge and inference charge a
// bounded number of buckets per call.
const MaxRatePools = 4

// RatePools yields the rate pools a call of keyID is charged to, outermost
// first: chain (the principal's requests_pools or tokens_pools) when set,
// else legacy (requests_pool or tokens_pool, from an auth before ADR 0086:
// that one pool). Entries without a key or rate, and the key's own bucket
// (charged as the key), are skipped. A chain longer than MaxRatePools
// yields its outermost entry and its MaxRatePools-1 innermost (the widest
// bound and the narrowest ones) so a caller's fixed buckets suffice.
func RatePools(chain []*authv1.RatePool, legacy *authv1.RatePool, keyID string) iter.Seq[*authv1.RatePool] {
	return func(yield func(*authv1.RatePool) bool) {
		if len(chain) == 0 {
			if usable(legacy, keyID) {
				yield(legacy)
			}
			return
		}
		for i, rp := range chain {
			if i > 0 && i < len(chain)-(MaxRatePools-1) {
				continue
			}
			if usable(rp, keyID) && !yield(rp) {
				return
			}
		}
	}
}

func usable(rp *authv1.RatePool, keyID string) bool {
	return rp.GetKeyId() != "" && rp.GetKeyId() != keyID && rp.GetPerMinute() > 0
}
