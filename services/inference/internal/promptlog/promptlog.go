package promptlog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// Purpose is the encryption-context value that binds wrapped keys to this use.
const Purpose = "rampart-inference-prompt-logs"

// sealVersion prefixes sealed entries (format: version ‖ nonce ‖ ciphertext).
const sealVersion = 1

// maxKeys bounds the cache of unwrapped tenant keys.
const maxKeys = 4096

// KeyTTL is how long an unwrapped tenant key is used before keyvault is
// asked again, so a crypto-shred made in keyvault alone (no purge) takes
// effect here within it, as in ingestion (KEY_TTL; ADR 0077).
const KeyTTL = 10 * time.Minute

// cachedKey is an unwrapped tenant key and when it was unwrapped.
type cachedKey struct {
	g        cipher.AEAD
	loadedAt time.Time
}

// ErrNotFound is returned for an entry the tenant does not have.
var ErrNotFound = errors.New("prompt log not found")

// KMS makes and unwraps data keys for the tenant of the call in ctx.
type KMS interface {
	GenerateDataKey(ctx context.Context, encryptionContext map[string]string) (plaintext, wrapped []byte, keyID string, err error)
	Decrypt(ctx context.Context, wrapped []byte, encryptionContext map[string]string) ([]byte, error)
}

// Store is what the logger needs of the store.
type Store interface {
	TenantKey(ctx context.Context, tenant string) (store.WrappedKey, error)
	PutTenantKey(ctx context.Context, tenant string, k store.WrappedKey, at time.Time) (store.WrappedKey, error)
	InsertPromptLog(ctx context.Context, l store.PromptLog) error
	PromptLog(ctx context.Context, tenant, requestID string) (store.PromptLog, error)
	PromptLogs(ctx context.Context, tenant string, from, to time.Time, beforeID int64, limit int) ([]store.PromptLog, error)
}

// Entry is one logged call.
type Entry struct {
	ID                                      int64
	Tenant, RequestID, Key, Model, Endpoint string
	// Request is the OpenAI request JSON; Response the response JSON.
	Request, Response json.RawMessage
	At                time.Time
}

// sealed is what is encrypted.
type sealed struct {
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

// Logger records and reads prompt logs.
type Logger struct {
	store   Store
	kms     KMS
	enabled func(tenant string) bool
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]cachedKey
	// loading holds the tenants whose key is being unwrapped (one load per
	// tenant: sf); Forget marks the load dropped so that a key unwrapped
	// before a shred is not cached after it (ADR 0084).
	loading map[string]*keyLoad
	sf      singleflight.Group
}

// keyLoad is one tenant's key load in flight.
type keyLoad struct{ dropped bool }

// ErrDropped is returned when the tenant's key was dropped (Forget: the
// tenant was crypto-shredded) while it was being unwrapped.
var ErrDropped = fmt.Errorf("the tenant's data key was dropped while loading (tenant shredded): %w", grpcerr.ErrFailedPrecondition)

// New returns a logger; enabled says which tenants have logging on.
func New(s Store, kms KMS, enabled func(tenant string) bool) *Logger {
	return &Logger{store: s, kms: kms, enabled: enabled, now: time.Now, keys: map[string]cachedKey{}, loading: map[string]*keyLoad{}}
}

// Enabled reports whether the tenant's calls are logged.
func (l *Logger) Enabled(tenant string) bool { return l != nil && l.enabled(tenant) }

func encContext(tenant string) map[string]string {
	return map[string]string{"tenant": tenant, "purpose": Purpose}
}

// SetClock replaces the clock (tests).
func (l *Logger) SetClock(now func() time.Time) { l.now = now }

// Forget drops the tenant's unwrapped key at once (keyvault crypto-shredded
// it: pkg/tenantevents.ShredWatcher, ADR 0084), and the one a load in
// flight unwraps (that call fails with ErrDropped). The next use asks
// keyvault again, through the calling principal.
func (l *Logger) Forget(tenant string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, tenant)
	if ld, ok := l.loading[tenant]; ok {
		ld.dropped = true
	}
	// A call from now on starts its own load instead of joining this one.
	l.sf.Forget(tenant)
}

// ForgetAll drops every tenant's key as Forget drops one (keyvault's shred
// stream answered RESYNC: the shreds made meanwhile cannot be known).
func (l *Logger) ForgetAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.keys)
	for tenant, ld := range l.loading {
		ld.dropped = true
		l.sf.Forget(tenant)
	}
}

// aead returns the tenant's unwrapped data key, making one on first use;
// a key unwrapped KeyTTL ago or more is unwrapped again (the bound while
// keyvault's shred stream does not reach this replica).
func (l *Logger) aead(ctx context.Context, tenant string, create bool) (cipher.AEAD, error) {
	l.mu.Lock()
	k, ok := l.keys[tenant]
	l.mu.Unlock()
	if ok && l.now().Sub(k.loadedAt) < KeyTTL {
		return k.g, nil
	}
	v, err, _ := l.sf.Do(tenant, func() (any, error) {
		ld := &keyLoad{}
		l.mu.Lock()
		l.loading[tenant] = ld
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			if l.loading[tenant] == ld { // a Forget may have let a newer load start
				delete(l.loading, tenant)
			}
			l.mu.Unlock()
		}()
		g, err := l.unwrap(ctx, tenant, create)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if ld.dropped {
			return nil, ErrDropped
		}
		if len(l.keys) >= maxKeys {
			clear(l.keys)
		}
		l.keys[tenant] = cachedKey{g: g, loadedAt: l.now()}
		return g, nil
	})
	if err != nil {
		return nil, err
	}
	g, _ := v.(cipher.AEAD)
	return g, nil
}

// unwrap loads the tenant's wrapped key (making one when create) and
// unwraps it through keyvault.
func (l *Logger) unwrap(ctx context.Context, tenant string, create bool) (cipher.AEAD, error) {
	wk, err := l.store.TenantKey(ctx, tenant)
	var plain []byte
	switch {
	case errors.Is(err, store.ErrNotFound) && !create:
		return nil, ErrNotFound
	case errors.Is(err, store.ErrNotFound):
		p, blob, keyID, gerr := l.kms.GenerateDataKey(ctx, encContext(tenant))
		if gerr != nil {
			return nil, grpcerr.DataKey("generate", gerr)
		}
		stored, perr := l.store.PutTenantKey(ctx, tenant, store.WrappedKey{Blob: blob, KMSKeyID: keyID}, l.now())
		if perr != nil {
			clear(p)
			return nil, perr
		}
		if string(stored.Blob) == string(blob) {
			plain = p
		} else { // another replica stored its key first: use that one
			clear(p)
			wk = stored
		}
	case err != nil:
		return nil, err
	}
	if plain == nil {
		p, derr := l.kms.Decrypt(ctx, wk.Blob, encContext(tenant))
		if derr != nil {
			return nil, grpcerr.DataKey("unwrap", derr)
		}
		plain = p
	}
	defer clear(plain)
	if len(plain) != 32 {
		return nil, errors.New("prompt log: data key is not 256 bits")
	}
	b, err := aes.NewCipher(plain)
	if err != nil {
		return nil, fmt.Errorf("prompt log: %w", err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("prompt log: %w", err)
	}
	return g, nil
}

func aad(tenant, requestID string) []byte {
	b := make([]byte, 0, len(tenant)+1+len(requestID))
	return append(append(append(b, tenant...), 0), requestID...)
}

// Record seals and stores e for its tenant (which must have logging on).
func (l *Logger) Record(ctx context.Context, e Entry) error {
	if !l.Enabled(e.Tenant) {
		return nil
	}
	g, err := l.aead(ctx, e.Tenant, true)
	if err != nil {
		return err
	}
	pt, err := json.Marshal(sealed{Request: e.Request, Response: e.Response})
	if err != nil {
		return fmt.Errorf("prompt log: encode: %w", err)
	}
	out, err := seal(g, pt, aad(e.Tenant, e.RequestID))
	clear(pt)
	if err != nil {
		return err
	}
	at := e.At
	if at.IsZero() {
		at = l.now()
	}
	return l.store.InsertPromptLog(ctx, store.PromptLog{Tenant: e.Tenant, RequestID: e.RequestID, Key: e.Key, Model: e.Model, Endpoint: e.Endpoint, Sealed: out, At: at})
}

// seal returns version ‖ nonce ‖ ciphertext of pt under g, bound to ad:
// the one seal format of prompt logs, stored responses and assistants'
// system prompts.
func seal(g cipher.AEAD, pt, ad []byte) ([]byte, error) {
	nonce, err := randomNonce(g.NonceSize())
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(nonce)+len(pt)+g.Overhead())
	out = append(append(out, sealVersion), nonce...)
	return g.Seal(out, nonce, pt, ad), nil
}

// errMalformed and errWrongKey are unseal's failures; callers name what
// did not open.
var (
	errMalformed = errors.New("malformed sealed entry")
	errWrongKey  = errors.New("entry does not open with the tenant's key")
)

// unseal opens what seal sealed with the same ad.
func unseal(g cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := g.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, errMalformed
	}
	pt, err := g.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, errWrongKey
	}
	return pt, nil
}

// randomNonce returns a fresh random GCM nonce (96 bits: at the volumes of
// one tenant's logs the collision bound is far away).
func randomNonce(n int) ([]byte, error) {
	nonce := make([]byte, n)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("prompt log: nonce: %w", err)
	}
	return nonce, nil
}

func (l *Logger) open(ctx context.Context, row store.PromptLog) (Entry, error) {
	g, err := l.aead(ctx, row.Tenant, false)
	if err != nil {
		return Entry{}, err
	}
	pt, err := unseal(g, row.Sealed, aad(row.Tenant, row.RequestID))
	if err != nil {
		return Entry{}, fmt.Errorf("prompt log: %w", err)
	}
	var s sealed
	if err := json.Unmarshal(pt, &s); err != nil {
		return Entry{}, fmt.Errorf("prompt log: decode: %w", err)
	}
	return Entry{ID: row.ID, Tenant: row.Tenant, RequestID: row.RequestID, Key: row.Key, Model: row.Model, Endpoint: row.Endpoint,
		Request: s.Request, Response: s.Response, At: row.At}, nil
}

// Get returns the tenant's entry for requestID, decrypted.
func (l *Logger) Get(ctx context.Context, tenant, requestID string) (Entry, error) {
	row, err := l.store.PromptLog(ctx, tenant, requestID)
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, err
	}
	return l.open(ctx, row)
}

// List returns up to limit of the tenant's entries in [from, to), newest
// first, older than beforeID when it is > 0; next is the beforeID of the
// following page (0 when this is the last).
func (l *Logger) List(ctx context.Context, tenant string, from, to time.Time, beforeID int64, limit int) (entries []Entry, next int64, err error) {
	rows, err := l.store.PromptLogs(ctx, tenant, from, to, beforeID, limit+1)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	for _, r := range rows {
		e, err := l.open(ctx, r)
		if err != nil {
			return nil, 0, err
		}
		entries = append(entries, e)
	}
	return entries, next, nil
}
