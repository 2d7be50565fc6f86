package tenantkey

import (
	"context"
	"time"
)

// Keys caches what derive makes of each tenant's data key, loaded by a
// Loader: a service's whole key handling but its last step.
type Keys[K any] struct {
	*Cache[K]
	loader Loader
	derive func(tenant string, dataKey []byte) (K, error)
}

// NewKeys returns Keys over l. derive must not keep dataKey (it is
// cleared after). maxKeys and ttl are NewCache's.
func NewKeys[K any](l Loader, derive func(tenant string, dataKey []byte) (K, error), maxKeys int, ttl time.Duration) *Keys[K] {
	return &Keys[K]{Cache: NewCache[K](maxKeys, ttl), loader: l, derive: derive}
}

// Get returns the tenant's key. ctx must carry the tenant's principal
// (forwarded to keyvault) unless the key is cached. With create, a tenant
// without a key gets one; otherwise that is ErrNoKey.
func (k *Keys[K]) Get(ctx context.Context, tenant string, create bool) (K, error) {
	return k.GetOrLoad(ctx, tenant, func(ctx context.Context) (K, error) {
		dk, err := k.loader.DataKey(ctx, tenant, create)
		if err != nil {
			var zero K
			return zero, err
		}
		defer clear(dk)
		return k.derive(tenant, dk)
	})
}
