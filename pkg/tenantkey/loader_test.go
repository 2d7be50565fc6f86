package tenantkey_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/pkg/tenantkey"
)

const purpose = "rampart-test"

// memStore keeps wrapped keys in memory; rival, when set, is stored by
// "another replica" just before this one's PutTenantKey.
type memStore struct {
	mu    sync.Mutex
	keys  map[string]tenantkey.WrappedKey
	rival *tenantkey.WrappedKey
	err   error
}

func newStore() *memStore { return &memStore{keys: map[string]tenantkey.WrappedKey{}} }

func (s *memStore) TenantKey(_ context.Context, tenant string) (tenantkey.WrappedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return tenantkey.WrappedKey{}, s.err
	}
	k, ok := s.keys[tenant]
	if !ok {
		return k, tenantkey.ErrNoKey
	}
	return k, nil
}

func (s *memStore) PutTenantKey(_ context.Context, tenant string, k tenantkey.WrappedKey) (tenantkey.WrappedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rival != nil {
		s.keys[tenant] = *s.rival
	}
	if old, ok := s.keys[tenant]; ok {
		return old, nil
	}
	s.keys[tenant] = k
	return k, nil
}

// TestDataKey: what the loader does for a tenant with and without a
// stored key, and when another replica stores its key first.
func TestDataKey(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		setup     func(t *testing.T, k *keyvaulttest.KMS, s *memStore) (want []byte)
		create    bool
		wantErr   error
		generated int64
		decrypted int64
	}{
		{"no key, not created", nil, false, tenantkey.ErrNoKey, 0, 0},
		{"no key, created", nil, true, nil, 1, 0},
		{"a stored key is unwrapped", func(t *testing.T, k *keyvaulttest.KMS, s *memStore) []byte {
			return storeKey(t, k, s.keys)
		}, false, nil, 1, 1},
		{"another replica's key won", func(t *testing.T, k *keyvaulttest.KMS, s *memStore) []byte {
			rival := map[string]tenantkey.WrappedKey{}
			want := storeKey(t, k, rival)
			wk := rival["t"]
			s.rival = &wk
			return want
		}, true, nil, 2, 1},
		{"the store fails", func(_ *testing.T, _ *keyvaulttest.KMS, s *memStore) []byte {
			s.err = errors.New("disk full")
			return nil
		}, true, errors.New("disk full"), 0, 0},
		{"the tenant was shredded", func(t *testing.T, k *keyvaulttest.KMS, s *memStore) []byte {
			storeKey(t, k, s.keys)
			k.Shred("t")
			return nil
		}, false, keyvaulttest.ErrShredded, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, s := keyvaulttest.NewKMS(), newStore()
			var want []byte
			if tc.setup != nil {
				want = tc.setup(t, k, s)
			}
			l := tenantkey.Loader{KMS: keyvaulttest.Direct{K: k}, Store: s, Purpose: purpose}
			dk, err := l.DataKey(ctx, "t", tc.create)
			require.Equal(t, tc.generated, k.Generated.Load(), "keys generated")
			require.Equal(t, tc.decrypted, k.Decrypted.Load(), "keys unwrapped")
			if tc.wantErr != nil {
				require.Error(t, err)
				if !errors.Is(err, tc.wantErr) {
					require.EqualError(t, err, tc.wantErr.Error())
				}
				if errors.Is(tc.wantErr, tenantkey.ErrNoKey) {
					require.Equal(t, tenantkey.ErrNoKey, err, "the sentinel itself (ingestion compares it)")
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, dk, 32)
			if want != nil {
				require.Equal(t, want, dk)
			}
			stored := s.keys["t"]
			require.NotEmpty(t, stored.Blob)
			require.False(t, bytes.Contains(stored.Blob, dk), "only the wrapped key is stored")
			require.Equal(t, keyvaulttest.KeyID, stored.KMSKeyID)
			again, err := l.DataKey(ctx, "t", false)
			require.NoError(t, err)
			require.Equal(t, dk, again, "the stored key is the one handed out")
		})
	}
}

// storeKey makes tenant t a key bound to purpose into keys and returns
// its plaintext.
func storeKey(t *testing.T, k *keyvaulttest.KMS, keys map[string]tenantkey.WrappedKey) []byte {
	t.Helper()
	l := tenantkey.Loader{Purpose: purpose}
	p, w, err := k.Generate("t", l.EncryptionContext("t"))
	require.NoError(t, err)
	keys["t"] = tenantkey.WrappedKey{Blob: w, KMSKeyID: keyvaulttest.KeyID}
	return p
}

// statusKMS fails every call with a gRPC status, or hands out keys of
// the wrong size.
type statusKMS struct {
	code codes.Code
	size int
}

func (s statusKMS) GenerateDataKey(context.Context, map[string]string) ([]byte, []byte, string, error) {
	if s.code == codes.OK {
		return make([]byte, s.size), []byte("wrapped"), "k", nil
	}
	return nil, nil, "", status.Error(s.code, "dial tcp 10.0.0.7:7002: connection refused")
}

func (s statusKMS) Decrypt(context.Context, []byte, map[string]string) ([]byte, error) {
	return nil, status.Error(s.code, "internal detail")
}

// TestKMSErrorsSayNothingInternal: keyvault's failures reach the caller as
// grpcerr.DataKey maps them (no address), and a key that is not 256 bits
// is refused.
func TestKMSErrorsSayNothingInternal(t *testing.T) {
	for _, tc := range []struct {
		kms  statusKMS
		want codes.Code
	}{
		{statusKMS{code: codes.Unavailable}, codes.Unavailable},
		{statusKMS{code: codes.FailedPrecondition}, codes.FailedPrecondition},
		{statusKMS{code: codes.Unauthenticated}, codes.Unauthenticated},
		{statusKMS{code: codes.PermissionDenied}, codes.Internal},
		{statusKMS{code: codes.Internal}, codes.Internal},
		{statusKMS{size: 16}, codes.Internal},
	} {
		t.Run(tc.kms.code.String(), func(t *testing.T) {
			l := tenantkey.Loader{KMS: tc.kms, Store: newStore(), Purpose: purpose}
			_, err := l.DataKey(context.Background(), "t", true)
			require.Error(t, err)
			require.Equal(t, tc.want, grpcerr.Code(err))
			if tc.want != codes.Internal { // Internal errors are logged, never sent (grpcerr.ToStatus)
				require.NotContains(t, err.Error(), "10.0.0.7")
			}
		})
	}
}

// serviceKey is a service's own wrapped-key type.
type serviceKey struct {
	Blob     []byte
	KMSKeyID string
}

var errServiceNotFound = errors.New("service store: not found")

// TestStoreFuncs: a service's store methods serve as a Store; its
// not-found is ErrNoKey.
func TestStoreFuncs(t *testing.T) {
	ctx := context.Background()
	keys := map[string]serviceKey{}
	s := tenantkey.StoreFuncs[serviceKey]{
		Get: func(_ context.Context, tenant string) (serviceKey, error) {
			k, ok := keys[tenant]
			if !ok {
				return k, errServiceNotFound
			}
			return k, nil
		},
		Put: func(_ context.Context, tenant string, k serviceKey) (serviceKey, error) {
			keys[tenant] = k
			return k, nil
		},
		NotFound: errServiceNotFound,
	}
	_, err := s.TenantKey(ctx, "t")
	require.ErrorIs(t, err, tenantkey.ErrNoKey)
	stored, err := s.PutTenantKey(ctx, "t", tenantkey.WrappedKey{Blob: []byte("w"), KMSKeyID: "k"})
	require.NoError(t, err)
	require.Equal(t, tenantkey.WrappedKey{Blob: []byte("w"), KMSKeyID: "k"}, stored)
	require.Equal(t, serviceKey{Blob: []byte("w"), KMSKeyID: "k"}, keys["t"])
	got, err := s.TenantKey(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, stored, got)
}

// TestKeysDerive: Keys hands derive the tenant's data key, caches what it
// makes, and clears the data key after.
func TestKeysDerive(t *testing.T) {
	ctx := context.Background()
	k := keyvaulttest.NewKMS()
	var seen [][]byte
	derive := func(tenant string, dk []byte) (string, error) {
		seen = append(seen, dk)
		return fmt.Sprintf("%s:%d", tenant, len(dk)), nil
	}
	keys := tenantkey.NewKeys(tenantkey.Loader{KMS: keyvaulttest.Direct{K: k}, Store: newStore(), Purpose: purpose}, derive, 8, time.Minute)
	_, err := keys.Get(ctx, "t", false)
	require.ErrorIs(t, err, tenantkey.ErrNoKey)
	got, err := keys.Get(ctx, "t", true)
	require.NoError(t, err)
	require.Equal(t, "t:32", got)
	_, err = keys.Get(ctx, "t", false)
	require.NoError(t, err)
	require.Len(t, seen, 1, "derived once, then cached")
	require.Equal(t, make([]byte, 32), seen[0], "the data key is cleared after derive")
}
