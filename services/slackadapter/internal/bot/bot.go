package bot

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-platform/rampart/pkg/periodic"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/appsecrets"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/keyring"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// Options assemble an Adapter.
type Options struct {
	Config    *config.Config
	Store     *store.Store
	Keyring   *keyring.Keyring
	Auth      Auth
	Vault     Vault
	Inference Inference
	Ingestion Ingestion
	Slack     Slack
	Log       *slog.Logger
	Registry  prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AllowHTTPResponseURL admits http:// response URLs (tests' fake Slack).
	AllowHTTPResponseURL bool
	// AppFromSettings, when set, is the Slack app's credentials (resolved
	// from AWS, ADR 0126) instead of the operator's stored record.
	AppFromSettings AppFromSettings
}

// AppFromSettings gives the app's credentials as last resolved
// (appsecrets.App).
type AppFromSettings interface {
	Credentials() appsecrets.Credentials
}

// Adapter is the slack bot.
type Adapter struct {
	cfg     *config.Config
	st      *store.Store
	kr      *keyring.Keyring
	auth    Auth
	vault   Vault
	inf     Inference
	ing     Ingestion
	slack   Slack
	log     *slog.Logger
	now     clock
	httpOK  bool
	queue   chan job
	secrets *secrets.Cache
	m       *metrics
	appSet  AppFromSettings

	mu         sync.Mutex
	assertions map[string]assertion // tenant → cached assertion
	orgs       *orgCache            // ownOrg's users.info answers (its own lock)
	// notices remembers, per team, the tenant and access token whose
	// notice token this process stored (a hash: keepNotice writes again
	// only when it changes).
	notices map[string][sha256.Size]byte
	wg      sync.WaitGroup
}

type assertion struct {
	token string
	until time.Time
	keyID string // the adapter key it was verified from
}

// New builds an Adapter; Run starts its workers.
func New(o Options) (*Adapter, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{cfg: o.Config, st: o.Store, kr: o.Keyring, auth: o.Auth, vault: o.Vault, inf: o.Inference, ing: o.Ingestion,
		slack: o.Slack, log: o.Log, now: o.Now, httpOK: o.AllowHTTPResponseURL, appSet: o.AppFromSettings,
		queue: make(chan job, o.Config.QueueSize), assertions: map[string]assertion{}, notices: map[string][sha256.Size]byte{},
		orgs: newOrgCache(OrgCacheMaxEntries, o.Now, o.Registry),
		m:    newMetrics(o.Registry)}
	cache, err := secrets.NewCache(secrets.SourceFunc(a.fetchSecret), secrets.CacheOptions{
		Name: "slackadapter", TTL: 5 * time.Minute, Scope: tenantScope, Now: o.Now, Registerer: o.Registry,
	})
	if err != nil {
		return nil, err
	}
	a.secrets = cache
	return a, nil
}

// KeyringPath is where the local key-encryption key lives in the data dir.
func KeyringPath(dataDir string) string { return filepath.Join(dataDir, "slackadapter.kek") }

// Run processes queued work on the worker pool and rotates tokens until ctx
// ends, then drains what is queued.
func (a *Adapter) Run(ctx context.Context) error {
	for range a.cfg.Workers {
		a.wg.Go(func() {
			for j := range a.queue {
				a.process(j)
			}
		})
	}
	periodic.Every(ctx, time.Minute, a.maintain, periodic.AtStart())
	close(a.queue)
	a.wg.Wait()
	return nil
}

// maintain purges expired dedupe marks and states, refreshes tokens and
// deletes revoked ones keyvault did not take yet.
func (a *Adapter) maintain(ctx context.Context) {
	if err := a.st.PurgeExpired(ctx, a.now()); err != nil && ctx.Err() == nil {
		a.log.Warn("purge expired events", "err", err)
	}
	if err := a.RefreshTokens(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("token refresh", "err", err)
	}
	if err := a.SweepRevokedTokens(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("revoked bot token deletion (retried in a minute)", "err", err)
	}
}

// --- tenant principals ---------------------------------------------------

type tenantKey struct{}

func withTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

func tenantScope(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}

// errNoKey: the tenant has no adapter key (not installed).
var errNoKey = errors.New("no slack adapter key for tenant")

// MaxAssertionAge bounds how long the adapter reuses the assertion of a
// tenant's adapter key before verifying the key with auth again: the
// edge's cache TTL. Auth's revocation stream (ForgetKey, ForgetTenant,
// ForgetAll) drops an assertion within a second; this bound holds while
// that stream is down.
const MaxAssertionAge = 30 * time.Second

// ForgetKey drops the cached assertion verified from adapter key keyID (a
// revocation, expiry or change of that key), so the next answer for its
// tenant verifies the key again.
func (a *Adapter) ForgetKey(keyID string) {
	a.mu.Lock()
	for tenant, c := range a.assertions {
		if c.keyID == keyID {
			delete(a.assertions, tenant)
		}
	}
	a.mu.Unlock()
	// An install link asked for with the key installs no more: an admin
	// demoted or removed after taking it must not bind a workspace to the
	// tenant (ADR 0118).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := a.st.DropStatesOfKey(ctx, keyID); err != nil {
		a.log.WarnContext(ctx, "drop install links of a revoked or changed key (they expire with STATE_TTL)", "key_id", keyID, "err", err)
	} else if n > 0 {
		a.log.InfoContext(ctx, "install links of a revoked or changed key dropped", "key_id", keyID, "links", n)
	}
}

// ForgetTenant drops tenant's cached assertion (a suspended tenant).
func (a *Adapter) ForgetTenant(tenant string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.assertions, tenant)
}

// ForgetAll drops every cached assertion (the revocation stream restarted
// and may have missed events).
func (a *Adapter) ForgetAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.assertions)
}

// assertionFor returns a principal assertion for tenant, obtained by
// verifying the tenant's dedicated adapter key with auth and cached for at
// most MaxAssertionAge (and never past 30 s before it expires).
func (a *Adapter) assertionFor(ctx context.Context, tenant string) (string, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.assertions[tenant]
	a.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.token, nil
	}
	k, err := a.st.TenantKey(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return "", errNoKey
	}
	if err != nil {
		return "", err
	}
	plain, err := a.kr.Open(k.Sealed, tenant)
	if err != nil {
		return "", fmt.Errorf("tenant key %s: %w", k.KeyID, err)
	}
	v, err := a.auth.VerifyKey(ctx, string(plain))
	if err != nil {
		return "", fmt.Errorf("verify adapter key %s: %w", k.KeyID, err)
	}
	if v.TenantID != tenant {
		return "", fmt.Errorf("adapter key %s belongs to another tenant", k.KeyID)
	}
	until := v.Until.Add(-30 * time.Second)
	if until.After(now.Add(MaxAssertionAge)) {
		until = now.Add(MaxAssertionAge)
	}
	a.mu.Lock()
	a.assertions[tenant] = assertion{token: v.Assertion, until: until, keyID: k.KeyID}
	a.mu.Unlock()
	return v.Assertion, nil
}

// ensureTenantKey creates the tenant's dedicated adapter key (scopes
// chat:write, and ingest:read so channels an admin bound to collections can
// name them in rampart.collections) acting as the admin whose assertion ctx
// carries, unless one exists and still verifies.
func (a *Adapter) ensureTenantKey(ctx context.Context, tenant string) error {
	if _, err := a.assertionFor(ctx, tenant); err == nil {
		return nil
	}
	id, plain, err := a.auth.CreateKey(ctx, "slackadapter", permissions.SlackAdapterKeyScopes)
	if err != nil {
		return err
	}
	sealed, err := a.kr.Seal([]byte(plain), tenant)
	if err != nil {
		return err
	}
	if err := a.st.PutTenantKey(ctx, store.TenantKey{TenantID: tenant, KeyID: id, Sealed: sealed}, a.now()); err != nil {
		return err
	}
	a.mu.Lock()
	delete(a.assertions, tenant)
	a.mu.Unlock()
	_, err = a.assertionFor(ctx, tenant)
	return err
}

// fetchSecret is the secrets cache's source: it reads as the tenant in ctx.
func (a *Adapter) fetchSecret(ctx context.Context, name, _ string) (secrets.Value, error) {
	tenant := tenantScope(ctx)
	if tenant == "" {
		return secrets.Value{}, fmt.Errorf("%w: no tenant", secrets.ErrDenied)
	}
	tok, err := a.assertionFor(ctx, tenant)
	if err != nil {
		return secrets.Value{}, fmt.Errorf("%w: %w", secrets.ErrDenied, err)
	}
	return a.vault.Get(ctx, tok, name)
}

// secret reads name of tenant through the cache.
func (a *Adapter) secret(ctx context.Context, tenant, name string) (string, error) {
	v, err := a.secrets.GetSecretValue(withTenant(ctx, tenant), name, "")
	if err != nil {
		return "", err
	}
	return v.String, nil
}

// putSecret writes name of tenant and drops the cached value.
func (a *Adapter) putSecret(ctx context.Context, tenant, name, value string) error {
	tok, err := a.assertionFor(ctx, tenant)
	if err != nil {
		return err
	}
	if err := a.vault.Put(ctx, tok, name, value); err != nil {
		return err
	}
	a.secrets.Invalidate(withTenant(ctx, tenant), name, "")
	return nil
}

// secretName is /{env}/slackadapter/{type}/{name}: keyvault's naming, whose
// /{env}/slackadapter/** prefix only this service may read (ADR 0015).
func (a *Adapter) secretName(typ, name string) string {
	return "/" + a.cfg.Env + "/slackadapter/" + typ + "/" + name
}
