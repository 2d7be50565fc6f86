package vault

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Actor is who makes a request: the verified principal (tenant, subject,
// roles, scopes) and the mTLS caller.
type Actor struct {
	Tenant    string
	Caller    string
	Subject   string
	KeyID     string
	Roles     []string
	Scopes    []string
	RequestID string
}

// Tag is a key/value tag.
type Tag = store.Tag

// Authorizer decides policy requests.
type Authorizer interface {
	Allowed(policy.Request) bool
}

// Options configure a Service.
type Options struct {
	Store    *store.Store
	Envelope *kms.Envelope
	Audit    audit.Sink
	Hasher   *audit.Hasher
	Policy   Authorizer
	Log      *slog.Logger
	Metrics  *Metrics
	// Now is the clock (tests use a fake one).
	Now func() time.Time
	// MaxVersions bounds stored versions per secret; unlabelled ones beyond
	// it are pruned, oldest first. Default 100.
	MaxVersions int
	// WebhookAllow lists URL prefixes rotation webhooks may call.
	WebhookAllow []string
	// HTTPClient is used by webhook rotation functions.
	HTTPClient *http.Client
	// KeyAuthority is auth, for the rampart-api-key rotation function
	// (nil: that function fails with a recorded error).
	KeyAuthority rotation.KeyAuthority
	// Replica names this process in rotation leases. It must stay the same
	// across restarts of one replica (the app uses hostname and data dir),
	// so a restarted replica resumes its own interrupted rotation at once;
	// another replica waits for the lease to expire. Default "local".
	Replica string
}

// Service implements the secrets API.
type Service struct {
	o       Options
	log     *slog.Logger
	access  *accessTracker
	rotLock keyedMutex // one rotation per secret at a time
	shreds  *shredFeed // wakes WatchShreds streams (ADR 0084)
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Replica == "" {
		o.Replica = "local"
	}
	if o.MaxVersions <= 0 {
		o.MaxVersions = 100
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Service{o: o, log: o.Log, access: newAccessTracker(), shreds: newShredFeed()}
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func arn(tenant, name, id string) string {
	return "arn:rampart:keyvault::" + tenant + ":secret:" + name + "-" + id[:6]
}

// authorize checks the policy and audits a denial.
func (s *Service) authorize(ctx context.Context, a Actor, action, name string) error {
	if a.Tenant == "" {
		return &Error{Kind: KindPermissionDenied, Msg: "no principal"}
	}
	if s.o.Policy.Allowed(policy.Request{Caller: a.Caller, Roles: a.Roles, Scopes: a.Scopes, Name: name, Action: action}) {
		if action == policy.ActionWrite || action == policy.ActionRotate {
			// Make sure the tenant's data key exists before any transaction:
			// creating it writes to the database, which must not happen from
			// inside another open write transaction (SQLite has one writer).
			if err := s.o.Envelope.EnsureKey(ctx, a.Tenant); err != nil {
				return internal(err)
			}
		}
		return nil
	}
	s.o.Metrics.denied(action)
	if err := s.record(ctx, a, audit.Record{Action: action, Name: name, Result: audit.ResultDenied}); err != nil {
		return err
	}
	return &Error{Kind: KindPermissionDenied, Msg: fmt.Sprintf("caller may not %s %q", action, name)}
}

// authorizeName is how every call on one secret starts: the name made
// canonical (the one the policy and the store see), then authorize.
func (s *Service) authorizeName(ctx context.Context, a Actor, action, name string) (string, error) {
	name, err := CanonicalName(name)
	if err != nil {
		return "", err
	}
	if err := s.authorize(ctx, a, action, name); err != nil {
		return "", err
	}
	return name, nil
}

// record writes an audit record; a failure fails the request.
func (s *Service) record(ctx context.Context, a Actor, r audit.Record) error {
	r.Time = s.now()
	r.Tenant, r.Caller, r.Subject, r.KeyID, r.RequestID = a.Tenant, a.Caller, a.Subject, a.KeyID, a.RequestID
	if err := s.o.Audit.Write(ctx, r); err != nil {
		s.o.Metrics.auditFailed()
		s.log.ErrorContext(ctx, "audit write failed; refusing request", "action", r.Action, "err", err)
		return errAuditFailed
	}
	return nil
}

func resultOf(err error) string {
	switch KindOf(err) {
	case KindNotFound:
		return audit.ResultNotFound
	case KindInvalid, KindFailedPrecondition, KindAlreadyExists:
		return audit.ResultInvalid
	case KindPermissionDenied:
		return audit.ResultDenied
	default:
		return audit.ResultError
	}
}

// auditFailure records a failed operation; the operation's error wins.
func (s *Service) auditFailure(ctx context.Context, a Actor, action, name string, err error) error {
	if aerr := s.record(ctx, a, audit.Record{Action: action, Name: name, Result: resultOf(err), Detail: err.Error()}); aerr != nil {
		return aerr
	}
	return err
}

// secretFor loads the actor's secret called name for action, applying the
// ownership rule to what the name alone could not tell: a secret a service
// created for itself is that service's (see checkOwner).
func (s *Service) secretFor(ctx context.Context, tx *store.Tx, a Actor, action, name string) (store.Secret, error) {
	sec, err := tx.SecretByName(ctx, a.Tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return sec, notFound("secret %q not found", name)
	}
	if err != nil {
		return sec, internal(err)
	}
	return sec, s.checkOwner(ctx, a, action, sec)
}

// rotationCaller is the actor of scheduled rotation steps (never an mTLS
// peer: those are spiffe:// IDs).
const rotationCaller = "keyvault/rotation"

// checkOwner refuses (and audits) action on a secret recorded as created
// by a service for itself when the caller is not that service; describe
// stays with the policy. Keyvault's own rotation steps act for the owner.
func (s *Service) checkOwner(ctx context.Context, a Actor, action string, sec store.Secret) error {
	if a.Caller == rotationCaller || policy.OwnerAllows(sec.Owner, a.Caller, action) {
		return nil
	}
	s.o.Metrics.denied(action)
	if err := s.record(ctx, a, audit.Record{Action: action, Name: sec.Name, Result: audit.ResultDenied, Detail: "owned by " + sec.Owner}); err != nil {
		return err
	}
	return &Error{Kind: KindPermissionDenied, Msg: fmt.Sprintf("caller may not %s %q: it belongs to %s", action, sec.Name, sec.Owner)}
}

// restoreHint says how to restore a secret from each way in: the CLI, the
// REST route the edge maps to RestoreSecret, and the RPC itself. Keyvault
// does not know which one its caller used, so it names all three.
func restoreHint(name string) string {
	return fmt.Sprintf("rampart secret restore %s, or POST /v1/secrets/%s:restore, or the RestoreSecret RPC",
		name, strings.TrimPrefix(name, "/"))
}

func liveSecret(sec store.Secret) error {
	if !sec.DeletedAt.IsZero() {
		return precondition("secret %q is scheduled for deletion; restore it first (%s)", sec.Name, restoreHint(sec.Name))
	}
	return nil
}

// CreateInput is a CreateSecret request.
type CreateInput struct {
	Name        string
	Description string
	KMSKeyID    string
	Value       *Value
	Token       string
	Tags        []Tag
}

// CreateOutput is the result of CreateSecret.
type CreateOutput struct {
	Name, ARN, VersionID string
}

// CreateSecret creates a secret (and its first version when a value is
// given). Repeating it with the same token and value returns the same
// result; another value with that token is FailedPrecondition.
func (s *Service) CreateSecret(ctx context.Context, a Actor, in CreateInput) (CreateOutput, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionWrite, in.Name)
	if err != nil {
		return CreateOutput{}, err
	}
	out, err := s.createSecret(ctx, a, name, in)
	if err != nil {
		return out, s.auditFailure(ctx, a, "CreateSecret", name, err)
	}
	return out, nil
}

// createExisting answers a CreateSecret for a name that exists: the same
// token with the same value is an idempotent retry (the version created
// then); anything else is AlreadyExists, or FailedPrecondition for a secret
// scheduled for deletion or a token reused with another value.
func (s *Service) createExisting(ctx context.Context, tx *store.Tx, a Actor, name string, existing store.Secret, in CreateInput) (CreateOutput, error) {
	// The idempotent-retry answer below compares values: not for someone
	// else's service secret.
	if err := s.checkOwner(ctx, a, policy.ActionWrite, existing); err != nil {
		return CreateOutput{}, err
	}
	if !existing.DeletedAt.IsZero() {
		return CreateOutput{}, precondition("secret %q is scheduled for deletion; restore it first (%s) or pick another name", name, restoreHint(name))
	}
	if in.Token != "" && in.Value != nil {
		v, err := tx.Version(ctx, a.Tenant, existing.ID, in.Token)
		if err == nil {
			same, err := s.sameValue(ctx, existing, v, *in.Value)
			if err != nil {
				return CreateOutput{}, err
			}
			if same {
				return CreateOutput{Name: name, ARN: existing.ARN, VersionID: v.VersionID}, nil
			}
			return CreateOutput{}, precondition("client_request_token was already used with a different value")
		}
	}
	return CreateOutput{}, &Error{Kind: KindAlreadyExists, Msg: fmt.Sprintf("secret %q already exists", name)}
}

func (s *Service) createSecret(ctx context.Context, a Actor, name string, in CreateInput) (CreateOutput, error) {
	if len(in.Description) > MaxDescriptionLen {
		return CreateOutput{}, invalid("description", "longer than %d characters", MaxDescriptionLen)
	}
	if err := validToken(in.Token); err != nil {
		return CreateOutput{}, err
	}
	if err := validTags(in.Tags); err != nil {
		return CreateOutput{}, err
	}
	ct := ContentText
	if in.Value != nil {
		if err := validateValue(in.Value, 0); err != nil {
			return CreateOutput{}, err
		}
		ct = in.Value.ContentType
	}
	var out CreateOutput
	err := s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		existing, err := tx.SecretByName(ctx, a.Tenant, name)
		switch {
		case err == nil:
			out, err = s.createExisting(ctx, tx, a, name, existing, in)
			return err
		case !errors.Is(err, store.ErrNotFound):
			return internal(err)
		}
		now := s.now()
		id := newID()
		sec := store.Secret{
			ID: id, TenantID: a.Tenant, Name: name, ARN: arn(a.Tenant, name, id), Description: in.Description,
			KMSKeyID: in.KMSKeyID, ContentType: ct, CreatedAt: now, LastChangedAt: now,
		}
		if policy.IsService(a.Caller) {
			sec.Owner = a.Caller // a service's own credential, whatever its name
		}
		if err := tx.InsertSecret(ctx, sec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &Error{Kind: KindAlreadyExists, Msg: fmt.Sprintf("secret %q already exists", name)}
			}
			return internal(err)
		}
		for _, t := range in.Tags {
			if err := tx.SetTag(ctx, a.Tenant, id, t); err != nil {
				return internal(err)
			}
		}
		out = CreateOutput{Name: name, ARN: sec.ARN}
		rec := audit.Record{Action: "CreateSecret", Name: name, Result: audit.ResultOK}
		if in.Value != nil {
			vid, _, err := s.putVersion(ctx, tx, &sec, *in.Value, in.Token, nil)
			if err != nil {
				return err
			}
			out.VersionID = vid
			rec.VersionID, rec.ValueHMAC = vid, s.o.Hasher.HMAC(in.Value.bytes())
		}
		return s.record(ctx, a, rec)
	})
	return out, err
}

// sameValue decrypts v and compares it with val in constant time.
func (s *Service) sameValue(ctx context.Context, sec store.Secret, v store.Version, val Value) (bool, error) {
	pt, err := s.o.Envelope.Open(ctx, sec.TenantID, sec.ID, v.VersionID, v.DEKID, v.Ciphertext)
	if err != nil {
		return false, internal(fmt.Errorf("open version: %w", err))
	}
	return v.Binary == val.IsBinary && subtle.ConstantTimeCompare(pt, val.bytes()) == 1, nil
}

// putVersion stores a new version with stages (default AWSCURRENT) and
// moves labels like AWS: a version gaining AWSCURRENT pushes the old
// current to AWSPREVIOUS. An existing version with id token is returned
// unchanged when the value matches. It reports whether a version was made.
func (s *Service) putVersion(ctx context.Context, tx *store.Tx, sec *store.Secret, val Value, token string, stages []string) (string, bool, error) {
	if token != "" {
		v, err := tx.Version(ctx, sec.TenantID, sec.ID, token)
		if err == nil {
			same, err := s.sameValue(ctx, *sec, v, val)
			if err != nil {
				return "", false, err
			}
			if !same {
				return "", false, precondition("client_request_token was already used with a different value")
			}
			return token, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", false, internal(err)
		}
	} else {
		token = newID()
	}
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	ct, dek, err := s.o.Envelope.Seal(ctx, sec.TenantID, sec.ID, token, val.bytes())
	if err != nil {
		return "", false, internal(fmt.Errorf("seal: %w", err))
	}
	now := s.now()
	if err := tx.InsertVersion(ctx, store.Version{
		TenantID: sec.TenantID, SecretID: sec.ID, VersionID: token, CreatedAt: now, Binary: val.IsBinary, DEKID: dek, Ciphertext: ct,
	}); err != nil {
		return "", false, internal(err)
	}
	if err := s.attachStages(ctx, tx, sec, token, stages); err != nil {
		return "", false, err
	}
	if _, err := tx.PruneVersions(ctx, sec.TenantID, sec.ID, s.o.MaxVersions); err != nil {
		return "", false, internal(err)
	}
	if val.ContentType != 0 {
		sec.ContentType = val.ContentType
	}
	sec.LastChangedAt = now
	if err := tx.UpdateSecret(ctx, *sec); err != nil {
		return "", false, internal(err)
	}
	return token, true, nil
}

// SecretValue is a value read.
type SecretValue struct {
	Name, ARN, VersionID string
	Value                Value
	Stages               []string
	CreatedAt            time.Time
}

// GetSecretValue reads a version by id or stage (default AWSCURRENT).
func (s *Service) GetSecretValue(ctx context.Context, a Actor, name, versionID, stage string) (SecretValue, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionRead, name)
	if err != nil {
		return SecretValue{}, err
	}
	out, err := s.getValue(ctx, a, name, versionID, stage)
	if err != nil {
		s.o.Metrics.access(name, "read", resultOf(err))
		return out, s.auditFailure(ctx, a, "GetSecretValue", name, err)
	}
	if err := s.record(ctx, a, audit.Record{Action: "GetSecretValue", Name: name, VersionID: out.VersionID, Stages: out.Stages, Result: audit.ResultOK}); err != nil {
		return SecretValue{}, err
	}
	s.o.Metrics.access(name, "read", audit.ResultOK)
	return out, nil
}

func (s *Service) getValue(ctx context.Context, a Actor, name, versionID, stage string) (SecretValue, error) {
	if versionID != "" {
		if err := validToken(versionID); err != nil {
			return SecretValue{}, invalid("version_id", "malformed")
		}
	}
	if stage != "" {
		if err := validStage("version_stage", stage); err != nil {
			return SecretValue{}, err
		}
	}
	if versionID == "" && stage == "" {
		stage = StageCurrent
	}
	// One prepared query: secret, selected version and its labels.
	rv, err := s.o.Store.ReadValue(ctx, a.Tenant, name, versionID, stage)
	if errors.Is(err, store.ErrNotFound) {
		return SecretValue{}, notFound("secret %q not found", name)
	}
	if err != nil {
		return SecretValue{}, internal(err)
	}
	sec, v, labels := rv.Secret, rv.Version, rv.Labels
	if err := s.checkOwner(ctx, a, policy.ActionRead, sec); err != nil {
		return SecretValue{}, err
	}
	if err := liveSecret(sec); err != nil {
		return SecretValue{}, err
	}
	if v.VersionID == "" {
		if versionID != "" {
			return SecretValue{}, notFound("version %q of secret %q not found", versionID, name)
		}
		return SecretValue{}, notFound("no version of secret %q has label %s", name, stage)
	}
	if stage != "" && versionID != "" && !slices.Contains(labels, stage) {
		return SecretValue{}, invalid("version_stage", "label %s is not on version %s", stage, versionID)
	}
	pt, err := s.o.Envelope.Open(ctx, a.Tenant, sec.ID, v.VersionID, v.DEKID, v.Ciphertext)
	if err != nil {
		if errors.Is(err, kms.ErrShredded) {
			return SecretValue{}, precondition("the tenant's key has been destroyed; the value is unrecoverable")
		}
		return SecretValue{}, internal(fmt.Errorf("open %s: %w", v.VersionID, err))
	}
	s.access.touch(a.Tenant, sec.ID, s.now())
	out := SecretValue{Name: name, ARN: sec.ARN, VersionID: v.VersionID, Stages: labels, CreatedAt: v.CreatedAt}
	out.Value.ContentType = sec.ContentType
	if v.Binary {
		out.Value.IsBinary, out.Value.Binary, out.Value.ContentType = true, pt, ContentBinary
	} else {
		out.Value.String = string(pt)
	}
	return out, nil
}

// BatchResult is one entry of BatchGetSecretValue.
type BatchResult struct {
	Name  string
	Value SecretValue
	Err   error
}

// BatchGetSecretValue reads the current value of up to 20 secrets; each
// name succeeds or fails on its own.
func (s *Service) BatchGetSecretValue(ctx context.Context, a Actor, names []string) ([]BatchResult, error) {
	if len(names) == 0 {
		return nil, invalid("names", "required")
	}
	if len(names) > MaxBatch {
		return nil, invalid("names", "at most %d", MaxBatch)
	}
	out := make([]BatchResult, 0, len(names))
	for _, n := range names {
		v, err := s.GetSecretValue(ctx, a, n, "", "")
		if KindOf(err) == KindUnavailable {
			return nil, err
		}
		out = append(out, BatchResult{Name: n, Value: v, Err: err})
	}
	return out, nil
}

// PutSecretValue stores a new version.
func (s *Service) PutSecretValue(ctx context.Context, a Actor, name string, val Value, token string, stages []string) (string, []string, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionWrite, name)
	if err != nil {
		return "", nil, err
	}
	vid, labels, err := s.putSecretValue(ctx, a, name, val, token, stages)
	if err != nil {
		return "", nil, s.auditFailure(ctx, a, "PutSecretValue", name, err)
	}
	return vid, labels, nil
}

func (s *Service) putSecretValue(ctx context.Context, a Actor, name string, val Value, token string, stages []string) (string, []string, error) {
	if err := validToken(token); err != nil {
		return "", nil, err
	}
	if len(stages) > 20 {
		return "", nil, invalid("version_stages", "at most 20")
	}
	for _, st := range stages {
		if err := validStage("version_stages", st); err != nil {
			return "", nil, err
		}
	}
	var vid string
	var labels []string
	err := s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := s.secretFor(ctx, tx, a, policy.ActionWrite, name)
		if err != nil {
			return err
		}
		if err := liveSecret(sec); err != nil {
			return err
		}
		if err := validateValue(&val, sec.ContentType); err != nil {
			return err
		}
		vid, _, err = s.putVersion(ctx, tx, &sec, val, token, stages)
		if err != nil {
			return err
		}
		all, err := tx.Stages(ctx, a.Tenant, sec.ID)
		if err != nil {
			return internal(err)
		}
		for st, v := range all {
			if v == vid {
				labels = append(labels, st)
			}
		}
		slices.Sort(labels)
		return s.record(ctx, a, audit.Record{Action: "PutSecretValue", Name: name, VersionID: vid, Stages: labels,
			Result: audit.ResultOK, ValueHMAC: s.o.Hasher.HMAC(val.bytes())})
	})
	return vid, labels, err
}

// UpdateInput is an UpdateSecret request; nil fields are unchanged.
type UpdateInput struct {
	Name        string
	Description *string
	KMSKeyID    *string
	Value       *Value
	Token       string
}

// UpdateSecret changes metadata and optionally stores a new version.
func (s *Service) UpdateSecret(ctx context.Context, a Actor, in UpdateInput) (string, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionWrite, in.Name)
	if err != nil {
		return "", err
	}
	var vid string
	err = func() error {
		if in.Description != nil && len(*in.Description) > MaxDescriptionLen {
			return invalid("description", "longer than %d characters", MaxDescriptionLen)
		}
		if err := validToken(in.Token); err != nil {
			return err
		}
		return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
			sec, err := s.secretFor(ctx, tx, a, policy.ActionWrite, name)
			if err != nil {
				return err
			}
			if err := liveSecret(sec); err != nil {
				return err
			}
			if in.Description != nil {
				sec.Description = *in.Description
			}
			if in.KMSKeyID != nil {
				sec.KMSKeyID = *in.KMSKeyID
			}
			sec.LastChangedAt = s.now()
			if err := tx.UpdateSecret(ctx, sec); err != nil {
				return internal(err)
			}
			rec := audit.Record{Action: "UpdateSecret", Name: name, Result: audit.ResultOK}
			if in.Value != nil {
				if err := validateValue(in.Value, sec.ContentType); err != nil {
					return err
				}
				if vid, _, err = s.putVersion(ctx, tx, &sec, *in.Value, in.Token, nil); err != nil {
					return err
				}
				rec.VersionID, rec.ValueHMAC = vid, s.o.Hasher.HMAC(in.Value.bytes())
			}
			return s.record(ctx, a, rec)
		})
	}()
	if err != nil {
		return "", s.auditFailure(ctx, a, "UpdateSecret", name, err)
	}
	return vid, nil
}

// DeleteSecret schedules deletion after the recovery window (0 → 30 days)
// or deletes at once when force is set.
func (s *Service) DeleteSecret(ctx context.Context, a Actor, name string, windowDays int, force bool) (time.Time, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionDelete, name)
	if err != nil {
		return time.Time{}, err
	}
	var when time.Time
	err = func() error {
		if force && windowDays != 0 {
			return invalid("recovery_window_in_days", "cannot be combined with force_delete_without_recovery")
		}
		if windowDays == 0 {
			windowDays = MaxRecoveryDays
		}
		if !force && (windowDays < MinRecoveryDays || windowDays > MaxRecoveryDays) {
			return invalid("recovery_window_in_days", "must be %d-%d", MinRecoveryDays, MaxRecoveryDays)
		}
		return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
			sec, err := s.secretFor(ctx, tx, a, policy.ActionDelete, name)
			if err != nil {
				return err
			}
			now := s.now()
			if force {
				when = now
				if err := tx.DeleteSecret(ctx, a.Tenant, sec.ID); err != nil {
					return internal(err)
				}
			} else {
				if !sec.DeletedAt.IsZero() {
					return precondition("secret %q is already scheduled for deletion on %s", name, sec.DeletedAt.Format(time.RFC3339))
				}
				when = now.Add(time.Duration(windowDays) * 24 * time.Hour)
				sec.DeletedAt, sec.LastChangedAt = when, now
				if err := tx.UpdateSecret(ctx, sec); err != nil {
					return internal(err)
				}
			}
			return s.record(ctx, a, audit.Record{Action: "DeleteSecret", Name: name, Result: audit.ResultOK,
				Detail: "deletion " + when.Format(time.RFC3339)})
		})
	}()
	if err != nil {
		return time.Time{}, s.auditFailure(ctx, a, "DeleteSecret", name, err)
	}
	return when, nil
}

// RestoreSecret cancels a scheduled deletion (a no-op for a live secret).
func (s *Service) RestoreSecret(ctx context.Context, a Actor, name string) error {
	name, err := s.authorizeName(ctx, a, policy.ActionDelete, name)
	if err != nil {
		return err
	}
	err = s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := s.secretFor(ctx, tx, a, policy.ActionDelete, name)
		if err != nil {
			return err
		}
		if !sec.DeletedAt.IsZero() {
			sec.DeletedAt, sec.LastChangedAt = time.Time{}, s.now()
			if err := tx.UpdateSecret(ctx, sec); err != nil {
				return internal(err)
			}
		}
		return s.record(ctx, a, audit.Record{Action: "RestoreSecret", Name: name, Result: audit.ResultOK})
	})
	if err != nil {
		return s.auditFailure(ctx, a, "RestoreSecret", name, err)
	}
	return nil
}

// PurgeExpired deletes every secret whose recovery window has passed; it
// returns how many went. Each purge is audited under the system actor.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	due, err := s.o.Store.Read().ExpiredDeletions(ctx, s.now(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sec := range due {
		err := s.o.Store.InTx(ctx, func(tx *store.Tx) error {
			cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
			if err != nil || cur.DeletedAt.IsZero() || cur.DeletedAt.After(s.now()) {
				return err // restored meanwhile
			}
			if err := tx.DeleteSecret(ctx, sec.TenantID, sec.ID); err != nil {
				return err
			}
			return s.record(ctx, Actor{Tenant: sec.TenantID, Caller: "keyvault"}, audit.Record{Action: "PurgeSecret", Name: sec.Name, Result: audit.ResultOK})
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TagResource adds or replaces tags.
func (s *Service) TagResource(ctx context.Context, a Actor, name string, tags []Tag) error {
	return s.tagOp(ctx, a, name, "TagResource", func(tx *store.Tx, sec store.Secret) error {
		if len(tags) == 0 {
			return invalid("tags", "required")
		}
		if err := validTags(tags); err != nil {
			return err
		}
		have, err := tx.Tags(ctx, a.Tenant, sec.ID)
		if err != nil {
			return internal(err)
		}
		keys := map[string]bool{}
		for _, t := range have {
			keys[t.Key] = true
		}
		for _, t := range tags {
			keys[t.Key] = true
			if err := tx.SetTag(ctx, a.Tenant, sec.ID, t); err != nil {
				return internal(err)
			}
		}
		if len(keys) > MaxTags {
			return invalid("tags", "a secret can have at most %d tags", MaxTags)
		}
		return nil
	})
}

// UntagResource removes tags.
func (s *Service) UntagResource(ctx context.Context, a Actor, name string, keys []string) error {
	return s.tagOp(ctx, a, name, "UntagResource", func(tx *store.Tx, sec store.Secret) error {
		if len(keys) == 0 {
			return invalid("tag_keys", "required")
		}
		for _, k := range keys {
			if err := tx.DeleteTag(ctx, a.Tenant, sec.ID, k); err != nil {
				return internal(err)
			}
		}
		return nil
	})
}

func (s *Service) tagOp(ctx context.Context, a Actor, name, action string, fn func(*store.Tx, store.Secret) error) error {
	name, err := s.authorizeName(ctx, a, policy.ActionWrite, name)
	if err != nil {
		return err
	}
	err = s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := s.secretFor(ctx, tx, a, policy.ActionWrite, name)
		if err != nil {
			return err
		}
		if err := fn(tx, sec); err != nil {
			return err
		}
		sec.LastChangedAt = s.now()
		if err := tx.UpdateSecret(ctx, sec); err != nil {
			return internal(err)
		}
		return s.record(ctx, a, audit.Record{Action: action, Name: name, Result: audit.ResultOK})
	})
	if err != nil {
		return s.auditFailure(ctx, a, action, name, err)
	}
	return nil
}
