package promptlog

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-platform/rampart/pkg/tenantkey"
	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// Purpose is the encryption-context value that binds wrapped keys to this use.
const Purpose = "rampart-inference-prompt-logs"

// sealVersion prefixes sealed entries (format: version ‖ nonce ‖ ciphertext).
const sealVersion = 1

// KeyTTL is how long an unwrapped tenant key is used before keyvault is
// asked again, so a crypto-shred made in keyvault alone (no purge) takes
// effect here within it, as in ingestion (KEY_TTL; ADR 0077).
const KeyTTL = tenantkey.DefaultTTL

// ErrNotFound is returned for an entry the tenant does not have.
var ErrNotFound = errors.New("prompt log not found")

// KMS makes and unwraps data keys for the tenant of the call in ctx.
type KMS = tenantkey.KMS

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
	// Needs is what a reader must be allowed to ask for to read the entry
	// (ADR 0088's rule, ADR 0097 §2). Record derives it from Request when
	// nil; entries sealed before carry none and get it derived on read.
	Needs *ReaderNeeds
}

// sealed is what is encrypted.
type sealed struct {
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
	Needs    *ReaderNeeds    `json:"needs,omitempty"`
}

// Logger records and reads prompt logs.
type Logger struct {
	store   Store
	kms     KMS
	enabled func(tenant string) bool
	now     func() time.Time

	// keys are the tenants' unwrapped data keys (pkg/tenantkey, ADR 0092).
	keys *tenantkey.Keys[cipher.AEAD]
}

// ErrDropped is returned when the tenant's key was dropped (Forget: the
// tenant was crypto-shredded) while it was being unwrapped.
var ErrDropped = tenantkey.ErrDropped

// New returns a logger; enabled says which tenants have logging on.
func New(s Store, kms KMS, enabled func(tenant string) bool) *Logger {
	l := &Logger{store: s, kms: kms, enabled: enabled, now: time.Now}
	ks := tenantkey.StoreFuncs[store.WrappedKey]{Get: s.TenantKey, NotFound: store.ErrNotFound,
		Put: func(ctx context.Context, tenant string, k store.WrappedKey) (store.WrappedKey, error) {
			return s.PutTenantKey(ctx, tenant, k, l.now())
		}}
	loader := tenantkey.Loader{KMS: kms, Store: ks, Purpose: Purpose}
	l.keys = tenantkey.NewKeys(loader, func(_ string, dataKey []byte) (cipher.AEAD, error) { return gcm(dataKey) }, tenantkey.DefaultMaxKeys, KeyTTL)
	return l
}

// Enabled reports whether the tenant's calls are logged.
func (l *Logger) Enabled(tenant string) bool { return l != nil && l.enabled(tenant) }

// SetClock replaces the clock (tests).
func (l *Logger) SetClock(now func() time.Time) {
	l.now = now
	l.keys.SetClock(now)
}

// Forget drops the tenant's unwrapped key at once (keyvault crypto-shredded
// it: pkg/tenantevents.ShredWatcher, ADR 0084), and the one a load in
// flight unwraps (that call fails with ErrDropped). The next use asks
// keyvault again, through the calling principal.
func (l *Logger) Forget(tenant string) { l.keys.Forget(tenant) }

// ForgetAll drops every tenant's key as Forget drops one (keyvault's shred
// stream answered RESYNC: the shreds made meanwhile cannot be known).
func (l *Logger) ForgetAll() { l.keys.ForgetAll() }

// aead returns the tenant's unwrapped data key, making one on first use
// when create (else a tenant without one is ErrNotFound); a key unwrapped
// KeyTTL ago or more is unwrapped again (the bound while keyvault's shred
// stream does not reach this replica).
func (l *Logger) aead(ctx context.Context, tenant string, create bool) (cipher.AEAD, error) {
	g, err := l.keys.Get(ctx, tenant, create)
	if errors.Is(err, tenantkey.ErrNoKey) {
		return nil, ErrNotFound
	}
	return g, err
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
	needs := e.Needs
	if needs == nil {
		needs = NeedsOf(e.Request, e.Model)
	}
	pt, err := json.Marshal(sealed{Request: e.Request, Response: e.Response, Needs: needs})
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
	if s.Needs == nil { // sealed before ADR 0097: no entry is left without
		s.Needs = NeedsOf(s.Request, row.Model)
	}
	return Entry{ID: row.ID, Tenant: row.Tenant, RequestID: row.RequestID, Key: row.Key, Model: row.Model, Endpoint: row.Endpoint,
		Request: s.Request, Response: s.Response, At: row.At, Needs: s.Needs}, nil
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
