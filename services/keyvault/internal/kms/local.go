package kms

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	pstore "github.com/rampart-platform/rampart/pkg/store"
)

// StoredKEK is one version of a tenant's KEK as kept in the database,
// wrapped under a master key version. Wrapped is nil once destroyed.
type StoredKEK struct {
	Tenant        string
	Version       int
	MasterVersion int
	Wrapped       []byte
}

// KEKStore persists tenant KEKs for the local provider.
type KEKStore interface {
	// TenantKEKs returns every version of the tenant's KEK, destroyed ones
	// included (with nil Wrapped), ordered by version.
	TenantKEKs(ctx context.Context, tenant string) ([]StoredKEK, error)
	// InsertKEK adds a version; it fails if the version exists.
	InsertKEK(ctx context.Context, k StoredKEK) error
	// DestroyTenantKEKs erases the wrapped material of every version.
	DestroyTenantKEKs(ctx context.Context, tenant string) error
	// AllKEKs returns every live KEK version of every tenant.
	AllKEKs(ctx context.Context) ([]StoredKEK, error)
	// ReplaceWrapped atomically rewrites the wrapped form of the given KEKs.
	ReplaceWrapped(ctx context.Context, ks []StoredKEK) error
}

// MasterKeyFile is the name of the local provider's master key file.
const MasterKeyFile = "master.key"

type masterFile struct {
	Current int               `json:"current"`
	Keys    map[string]string `json:"keys"`
}

// Local is the self-hosted provider: a master key file (0600) in the data
// dir wraps per-tenant KEKs kept in the database.
type Local struct {
	path  string
	store KEKStore

	mu      sync.RWMutex
	master  map[int][]byte
	current int
	keks    map[string]tenantKEKs // unwrapped cache, checked against the store every KeyCacheTTL
}

// tenantKEKs is one tenant's cached KEK versions and when they were read
// from the store.
type tenantKEKs struct {
	vers   map[int][]byte // version → KEK
	loaded time.Time
}

// KeyCacheTTL bounds how long a replica uses tenant keys it read from the
// store without reading them again: the unwrapped KEK versions here and the
// identity of the tenant's current data key in Envelope. Another replica
// sharing the database may rotate or destroy them (RotateKey, ShredTenant);
// within this bound every replica wraps under the new KEK version and
// refuses a shredded tenant (ADR 0072). The cost is one small query per
// tenant per replica per bound.
const KeyCacheTTL = time.Second

// OpenLocal opens the master key file in dir, generating it (0600) when
// missing.
func OpenLocal(dir string, store KEKStore) (*Local, error) {
	l := &Local{path: filepath.Join(dir, MasterKeyFile), store: store, keks: map[string]tenantKEKs{}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kms: data dir: %w", err)
	}
	data, err := os.ReadFile(l.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		k, err := randomKey()
		if err != nil {
			return nil, err
		}
		l.master = map[int][]byte{1: k}
		l.current = 1
		if err := l.save(); err != nil {
			return nil, err
		}
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("kms: read master key: %w", err)
	}
	if st, err := os.Stat(l.path); err == nil && !privateEnough(st) {
		return nil, fmt.Errorf("kms: master key file %s is accessible by group/others (mode %v); chmod 600", l.path, st.Mode().Perm())
	}
	var mf masterFile
	if err := json.Unmarshal(data, &mf); err != nil {
		return nil, fmt.Errorf("kms: master key file is not valid JSON: %w", err)
	}
	l.master = map[int][]byte{}
	for v, enc := range mf.Keys {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("kms: master key version %q", v)
		}
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(k) != DataKeySize {
			return nil, fmt.Errorf("kms: master key version %d is malformed", n)
		}
		l.master[n] = k
	}
	if _, ok := l.master[mf.Current]; !ok {
		return nil, fmt.Errorf("kms: master key file has no current version %d", mf.Current)
	}
	l.current = mf.Current
	return l, nil
}

func (l *Local) save() error {
	mf := masterFile{Current: l.current, Keys: map[string]string{}}
	for v, k := range l.master {
		mf.Keys[strconv.Itoa(v)] = base64.StdEncoding.EncodeToString(k)
	}
	data, err := json.MarshalIndent(mf, "", "  ")
	if err != nil {
		return fmt.Errorf("kms: encode master key: %w", err)
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("kms: write master key: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("kms: write master key: %w", err)
	}
	return nil
}

// Name implements Provider.
func (l *Local) Name() string { return "local" }

// MasterVersion returns the current master key version.
func (l *Local) MasterVersion() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.current
}

func kekAAD(tenant string, version int) []byte {
	return canonicalContext(tenant, map[string]string{"purpose": "tenant-kek", "version": strconv.Itoa(version)})
}

// tenantKEK returns the tenant's KEK version (0 = current), creating the
// first version when the tenant has none.
func (l *Local) tenantKEK(ctx context.Context, tenant string, version int, create bool) ([]byte, int, error) {
	l.mu.RLock()
	k, v, ok := l.cachedLocked(tenant, version)
	l.mu.RUnlock()
	if ok {
		return k, v, nil
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	// Whoever held the lock before may have just read the store.
	if k, v, ok := l.cachedLocked(tenant, version); ok {
		return k, v, nil
	}
	k, v, err := l.loadLocked(ctx, tenant, version, create)
	if create && pstore.IsUniqueViolation(err) {
		// Another replica created the tenant's first key version at the
		// same moment (one store, several keyvaults): use theirs.
		k, v, err = l.loadLocked(ctx, tenant, version, create)
	}
	return k, v, err
}

// cachedLocked returns the tenant's KEK version (0 = current) from the
// cache if it was read from the store less than KeyCacheTTL ago; l.mu is
// held (either way).
func (l *Local) cachedLocked(tenant string, version int) ([]byte, int, bool) {
	c, ok := l.keks[tenant]
	if !ok || time.Since(c.loaded) >= KeyCacheTTL {
		return nil, 0, false
	}
	if version == 0 {
		version = maxVersion(c.vers)
	}
	k, ok := c.vers[version]
	return k, version, ok
}

// loadLocked loads the tenant's KEK versions from the store (creating the
// first when create and there is none) and caches them; l.mu is held.
func (l *Local) loadLocked(ctx context.Context, tenant string, version int, create bool) ([]byte, int, error) {
	stored, err := l.store.TenantKEKs(ctx, tenant)
	if err != nil {
		return nil, 0, fmt.Errorf("kms: load tenant key: %w", err)
	}
	live := map[int][]byte{}
	maxV := 0
	for _, s := range stored {
		maxV = max(maxV, s.Version)
		if s.Wrapped == nil {
			continue
		}
		mk, ok := l.master[s.MasterVersion]
		if !ok {
			return nil, 0, fmt.Errorf("kms: master key version %d missing", s.MasterVersion)
		}
		k, err := open(mk, s.Wrapped, kekAAD(tenant, s.Version))
		if err != nil {
			return nil, 0, fmt.Errorf("kms: unwrap tenant key v%d: %w", s.Version, err)
		}
		live[s.Version] = k
	}
	if len(live) == 0 && len(stored) > 0 {
		// Every version is a tombstone: the tenant was crypto-shredded (by
		// this replica or another) and gets no new key.
		delete(l.keks, tenant)
		return nil, 0, ErrShredded
	}
	if create && (len(live) == 0 || (version == 0 && live[maxV] == nil)) {
		k, v, err := l.newVersionLocked(ctx, tenant, maxV+1)
		if err != nil {
			return nil, 0, err
		}
		live[v] = k
		maxV = v
	}
	l.keks[tenant] = tenantKEKs{vers: live, loaded: time.Now()}
	if version == 0 {
		version = maxV
	}
	k, ok := live[version]
	if !ok {
		if version <= maxV {
			return nil, 0, ErrShredded
		}
		return nil, 0, ErrDecrypt
	}
	return k, version, nil
}

func (l *Local) newVersionLocked(ctx context.Context, tenant string, version int) ([]byte, int, error) {
	k, err := randomKey()
	if err != nil {
		return nil, 0, err
	}
	wrapped, err := seal(l.master[l.current], k, kekAAD(tenant, version))
	if err != nil {
		return nil, 0, err
	}
	if err := l.store.InsertKEK(ctx, StoredKEK{Tenant: tenant, Version: version, MasterVersion: l.current, Wrapped: wrapped}); err != nil {
		return nil, 0, fmt.Errorf("kms: store tenant key: %w", err)
	}
	return k, version, nil
}

func maxVersion(m map[int][]byte) int {
	v := 0
	for k := range m {
		v = max(v, k)
	}
	return v
}

const localMagic = "RKL1"

// GenerateDataKey implements Provider.
func (l *Local) GenerateDataKey(ctx context.Context, tenant string, encCtx map[string]string) (DataKey, error) {
	if tenant == "" {
		return DataKey{}, errors.New("kms: empty tenant")
	}
	kek, v, err := l.tenantKEK(ctx, tenant, 0, true)
	if err != nil {
		return DataKey{}, err
	}
	dk, err := randomKey()
	if err != nil {
		return DataKey{}, err
	}
	wrapped, err := l.wrap(kek, v, tenant, dk, encCtx)
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{Plaintext: dk, Wrapped: wrapped, KeyID: keyID(v)}, nil
}

func (l *Local) wrap(kek []byte, v int, tenant string, dk []byte, encCtx map[string]string) ([]byte, error) {
	sealed, err := seal(kek, dk, canonicalContext(tenant, encCtx))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(localMagic)+4+len(sealed))
	out = append(out, localMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(v)) //nolint:gosec // versions are small positive ints
	return append(out, sealed...), nil
}

func keyID(v int) string { return "tenant-kek/v" + strconv.Itoa(v) }

// Decrypt implements Provider.
func (l *Local) Decrypt(ctx context.Context, tenant string, wrapped []byte, encCtx map[string]string) ([]byte, string, error) {
	if len(wrapped) < len(localMagic)+4 || string(wrapped[:len(localMagic)]) != localMagic {
		return nil, "", ErrDecrypt
	}
	v := int(binary.BigEndian.Uint32(wrapped[len(localMagic):]))
	if v <= 0 {
		return nil, "", ErrDecrypt
	}
	kek, _, err := l.tenantKEK(ctx, tenant, v, false)
	if err != nil {
		return nil, "", err
	}
	dk, err := open(kek, wrapped[len(localMagic)+4:], canonicalContext(tenant, encCtx))
	if err != nil {
		return nil, "", err
	}
	return dk, keyID(v), nil
}

// RotateTenantKey implements Provider.
func (l *Local) RotateTenantKey(ctx context.Context, tenant string) (string, error) {
	if _, _, err := l.tenantKEK(ctx, tenant, 0, true); err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	stored, err := l.store.TenantKEKs(ctx, tenant)
	if err != nil {
		return "", fmt.Errorf("kms: load tenant key: %w", err)
	}
	next := 1
	for _, s := range stored {
		next = max(next, s.Version+1)
	}
	k, v, err := l.newVersionLocked(ctx, tenant, next)
	if err != nil {
		return "", err
	}
	if c, ok := l.keks[tenant]; ok {
		c.vers[v] = k
	}
	return keyID(v), nil
}

// DestroyTenant implements Provider: every KEK version of the tenant is
// erased from the database and the cache.
func (l *Local) DestroyTenant(ctx context.Context, tenant string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.store.DestroyTenantKEKs(ctx, tenant); err != nil {
		return fmt.Errorf("kms: destroy tenant key: %w", err)
	}
	delete(l.keks, tenant)
	return nil
}

// RotateMaster adds a master key version and rewraps every tenant KEK under
// it in one transaction; older master versions stay in the file until
// nothing references them (they are needed if the rewrap failed midway).
func (l *Local) RotateMaster(ctx context.Context) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := randomKey()
	if err != nil {
		return 0, err
	}
	next := l.current + 1
	for v := range l.master {
		next = max(next, v+1)
	}
	l.master[next] = k
	prev := l.current
	l.current = next
	if err := l.save(); err != nil {
		delete(l.master, next)
		l.current = prev
		return 0, err
	}
	all, err := l.store.AllKEKs(ctx)
	if err != nil {
		return 0, fmt.Errorf("kms: load tenant keys: %w", err)
	}
	out := make([]StoredKEK, 0, len(all))
	for _, s := range all {
		old, ok := l.master[s.MasterVersion]
		if !ok {
			return 0, fmt.Errorf("kms: master key version %d missing", s.MasterVersion)
		}
		kek, err := open(old, s.Wrapped, kekAAD(s.Tenant, s.Version))
		if err != nil {
			return 0, fmt.Errorf("kms: unwrap tenant key: %w", err)
		}
		w, err := seal(k, kek, kekAAD(s.Tenant, s.Version))
		if err != nil {
			return 0, err
		}
		out = append(out, StoredKEK{Tenant: s.Tenant, Version: s.Version, MasterVersion: next, Wrapped: w})
	}
	if err := l.store.ReplaceWrapped(ctx, out); err != nil {
		return 0, fmt.Errorf("kms: rewrap tenant keys: %w", err)
	}
	return next, nil
}

// Wrap wraps a given data key under the tenant's current KEK (ReEncrypt).
func (l *Local) Wrap(ctx context.Context, tenant string, dk []byte, encCtx map[string]string) ([]byte, string, error) {
	kek, v, err := l.tenantKEK(ctx, tenant, 0, true)
	if err != nil {
		return nil, "", err
	}
	w, err := l.wrap(kek, v, tenant, dk, encCtx)
	return w, keyID(v), err
}

// privateEnough reports whether a key file is readable by its owner only,
// or also by the group of this process and nobody else: the layout of a
// Kubernetes Secret volume (root-owned, mode 0440, group = the pod's
// fsGroup), from which replicas read one shared key (KEY_DIR). Other
// users, and group write, are always refused.
func privateEnough(st os.FileInfo) bool {
	perm := st.Mode().Perm()
	if perm&0o037 != 0 {
		return false
	}
	if perm&0o040 == 0 {
		return true
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Gid) == os.Getegid()
}
