package store

import (
	"errors"
	"time"
)

var (
	// ErrNotFound means no row matched (within the given tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness constraint was violated.
	ErrConflict = errors.New("already exists")
)

// TenantState mirrors authv1.TenantState.
type TenantState int32

// Tenant states.
const (
	TenantActive    TenantState = 1
	TenantSuspended TenantState = 2
	TenantDeleted   TenantState = 3
)

// Tenant is one tenant row.
type Tenant struct {
	ID        string
	Name      string
	State     TenantState
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time
	PurgeAt   time.Time
	Purged    bool
	Limits    TenantLimits
}

// Role mirrors authv1.Role; a lower number is a stronger role.
type Role int32

// Roles.
const (
	RoleOwner  Role = 1
	RoleAdmin  Role = 2
	RoleMember Role = 3
	RoleViewer Role = 4
)

// MemberKind mirrors authv1.MemberKind.
type MemberKind int32

// Member kinds.
const (
	MemberUser           MemberKind = 1
	MemberServiceAccount MemberKind = 2
)

// Member is a user or service account of a tenant.
type Member struct {
	ID        string
	TenantID  string
	Subject   string
	Kind      MemberKind
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KeyState mirrors authv1.KeyState.
type KeyState int32

// Key states.
const (
	KeyActive   KeyState = 1
	KeyRotating KeyState = 2
	KeyRevoked  KeyState = 3
	KeyExpired  KeyState = 4
)

// Limits are a key's quotas (0 = no limit at that level).
type Limits struct {
	RPM                 int64 `json:"rpm,omitempty"`
	TPM                 int64 `json:"tpm,omitempty"`
	MonthlyTokens       int64 `json:"monthly_tokens,omitempty"`
	TenantRPM           int64 `json:"tenant_rpm,omitempty"`
	TenantTPM           int64 `json:"tenant_tpm,omitempty"`
	TenantMonthlyTokens int64 `json:"tenant_monthly_tokens,omitempty"`
	// TenantMaxStreams is only read from a request to refuse it (the
	// tenant's stream cap is a tenant record, ADR 0111 §3); never stored.
	TenantMaxStreams int64 `json:"-"`
	// PlatformMaxStreams likewise (the platform's stream cap of a tenant,
	// ADR 0123 §3): refused on a key, never stored.
	PlatformMaxStreams int64 `json:"-"`
	// RPMPool and TPMPool are the rate pools the key belongs to (ADR 0076):
	// set by auth when a key with that limit, or a member of its pool,
	// mints or rotates the key — never from a request. Zero: the key is in
	// no pool or starts its own (see [Key.RequestsPool]).
	RPMPool RatePool `json:"rpm_pool,omitzero"`
	TPMPool RatePool `json:"tpm_pool,omitzero"`
	// RPMPools and TPMPools are the nested pools (ADR 0086): the bucket of
	// every limited key the key was minted or rotated from, outermost (the
	// RPMPool / TPMPool above, kept for an auth replica before ADR 0086)
	// first, each narrower than the one before. Absent: the one pool of
	// RPMPool (a key stored before ADR 0086 and not backfilled).
	RPMPools []RatePool `json:"rpm_pools,omitempty"`
	TPMPools []RatePool `json:"tpm_pools,omitempty"`
}

// SetPools stores the nested pools of a key and, for an auth before ADR
// 0086, their outermost as the key's one pool.
func (l *Limits) SetPools(rpm, tpm []RatePool) {
	l.RPMPools, l.TPMPools = rpm, tpm
	l.RPMPool, l.TPMPool = RatePool{}, RatePool{}
	if len(rpm) > 0 {
		l.RPMPool = rpm[0]
	}
	if len(tpm) > 0 {
		l.TPMPool = tpm[0]
	}
}

// RatePool is a rate bucket shared by the keys minted or rotated from one
// limited key: that key's id and its limit per minute when it was created
// (a key's limits never change, so neither does its pool's rate).
type RatePool struct {
	Key       string `json:"key"`
	PerMinute int64  `json:"per_minute"`
}

// Key is an API key row: metadata plus salt and hash, never the secret.
type Key struct {
	ID               string
	TenantID         string
	Salt             []byte
	Hash             []byte
	Name             string
	Subject          string
	Scopes           []string
	AllowedModels    []string
	AllowedEndpoints []string
	Limits           Limits
	State            KeyState
	CreatedAt        time.Time
	ExpiresAt        time.Time
	LastUsedAt       time.Time
	RevokedAt        time.Time
	ReplacedBy       string
	CreatedBy        string
	// BudgetKey is the key whose monthly budget counter this key draws
	// from; empty: its own (see [Key.BudgetPool]).
	BudgetKey string
}

// BudgetPool is the key id whose monthly budget counter k draws from.
func (k Key) BudgetPool() string {
	if k.BudgetKey != "" {
		return k.BudgetKey
	}
	return k.ID
}

// RequestsPools are the nested requests-per-minute pools k's calls are
// charged to besides its own bucket (ADR 0086): the bucket of every limited
// key it was minted or rotated from, outermost first. A key stored before
// ADR 0086 (and not backfilled) has its one pool.
func (k Key) RequestsPools() []RatePool { return poolsOf(k.Limits.RPMPools, k.Limits.RPMPool) }

// TokensPools is [Key.RequestsPools] for tokens per minute.
func (k Key) TokensPools() []RatePool { return poolsOf(k.Limits.TPMPools, k.Limits.TPMPool) }

// ChildRequestsPools are the requests pools of a key minted or rotated from
// k: k's own, then k's bucket when k's limit is narrower than all of them.
// A limit as wide as a pool above it binds nothing more — everything made
// from k is within that pool already — so it adds no level; that keeps a
// rotation chain (the replacement has the original's limit) from growing.
func (k Key) ChildRequestsPools() []RatePool {
	return NestPools(k.RequestsPools(), k.ID, k.Limits.RPM)
}

// ChildTokensPools is [Key.ChildRequestsPools] for tokens per minute.
func (k Key) ChildTokensPools() []RatePool { return NestPools(k.TokensPools(), k.ID, k.Limits.TPM) }

// RequestsPool is the outermost requests-per-minute pool of k's calls
// (ADR 0076): the pool it was minted or rotated into, else its own when it
// has an RPM limit (it is then the pool's first key), else none.
func (k Key) RequestsPool() RatePool { return first(k.ChildRequestsPools()) }

// TokensPool is [Key.RequestsPool] for tokens per minute.
func (k Key) TokensPool() RatePool { return first(k.ChildTokensPools()) }

func first(pools []RatePool) RatePool {
	if len(pools) == 0 {
		return RatePool{}
	}
	return pools[0]
}

func poolsOf(pools []RatePool, legacy RatePool) []RatePool {
	if len(pools) == 0 && legacy.Key != "" {
		return []RatePool{legacy}
	}
	return pools
}

// NestPools is pools followed by the bucket of key id at its limit own
// when own is narrower than every pool in pools (a new slice either way).
func NestPools(pools []RatePool, id string, own int64) []RatePool {
	out := make([]RatePool, len(pools), len(pools)+1)
	copy(out, pools)
	if own <= 0 {
		return out
	}
	for _, p := range pools {
		if p.PerMinute <= own {
			return out
		}
	}
	return append(out, RatePool{Key: id, PerMinute: own})
}

// BoundPools keeps at most n pools of a chain deeper than auth now mints
// (keys made before ADR 0086 bounded the depth): its outermost and its n-1
// innermost, as principal.RatePools reads a longer chain.
func BoundPools(pools []RatePool, n int) []RatePool {
	if len(pools) <= n {
		return pools
	}
	return append([]RatePool{pools[0]}, pools[len(pools)-(n-1):]...)
}

// KeyAuth is what verification needs in one lookup: the key, its tenant's
// state and its subject's current role (0 when the member is gone).
type KeyAuth struct {
	Key          Key
	TenantState  TenantState
	TenantLimits TenantLimits
	Role         Role
	// MemberID is the subject's member record ("" when it is no member).
	MemberID string
}

// Event kinds in the shared event log.
const (
	EventKeyRevoked = "key_revoked"
	EventKeyExpired = "key_expired"
	// EventKeyChanged: a live key's grant changed (its subject's role);
	// caches drop it and verify it again.
	EventKeyChanged      = "key_changed"
	EventTenantCreated   = "tenant_created"
	EventTenantSuspended = "tenant_suspended"
	EventTenantResumed   = "tenant_resumed"
	EventTenantDeleted   = "tenant_deleted"
	EventTenantPurged    = "tenant_purged"
	// EventTenantLimitsChanged: the tenant's limits changed; caches drop
	// every key of the tenant and verify them again.
	EventTenantLimitsChanged = "tenant_limits_changed"
	// EventMemberRemoved: a member left the tenant; the event's KeyID
	// column holds the member record's id (m_…), not a key's. Services
	// drop the credentials they hold for her (her data-source grants,
	// ADR 0132 §1).
	EventMemberRemoved = "member_removed"
	// EventMemberReadOnly: a member's role was lowered to viewer (KeyID:
	// the member id, as above): the grants only a writer uses are dropped.
	EventMemberReadOnly = "member_read_only"
)

// Event is one row of the event log; Cursor increases monotonically.
type Event struct {
	Cursor   int64
	Kind     string
	TenantID string
	KeyID    string
	At       time.Time
}

// AuditRecord is one audit row. Seq, PrevHash and Hash are assigned by
// [Queries.AppendAudit].
type AuditRecord struct {
	Seq       int64
	TenantID  string
	At        time.Time
	Actor     string
	Action    string
	Target    string
	Result    string
	RequestID string
	SourceIP  string
	PrevHash  string
	Hash      string
}

// SigningKey is a principal signing key; Sealed is the private key
// encrypted under the key-encryption key (see internal/signing).
type SigningKey struct {
	KID       string
	PublicKey []byte
	Sealed    []byte
	CreatedAt time.Time
	NotAfter  time.Time
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// TenantLimits are a tenant's own limits, set by its owners or the
// platform operator; every key of the tenant is narrowed by them (0 or an
// empty list: no limit at the tenant level).
type TenantLimits struct {
	RPM           int64    `json:"rpm,omitempty"`
	TPM           int64    `json:"tpm,omitempty"`
	MonthlyTokens int64    `json:"monthly_tokens,omitempty"`
	AllowedModels []string `json:"allowed_models,omitempty"`
	// MaxStreams caps the chat streams the whole tenant holds open at
	// once (the edge enforces it, narrowing its own default; ADR 0111 §3).
	MaxStreams int64 `json:"max_streams,omitempty"`
	// Ceiling is what the platform admin last set on the tenant (ADR
	// 0058); the tenant's owners may set limits only within it. nil: the
	// platform never set limits, the owners' are self-imposed. Stored in
	// the same JSON column; a ceiling has no ceiling of its own.
	Ceiling *TenantLimits `json:"ceiling,omitempty"`
}
