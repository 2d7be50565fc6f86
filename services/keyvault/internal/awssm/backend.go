package awssm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/rampart-platform/rampart/pkg/secrets/refs"
	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// Guard is the policy/audit/validation side of the vault service.
type Guard interface {
	Guard(ctx context.Context, a vault.Actor, action, name string) error
	Audit(ctx context.Context, a vault.Actor, r audit.Record) error
	AuditFailure(ctx context.Context, a vault.Actor, action, name string, err error) error
	ValueHMAC(v vault.Value) string
}

// Backend stores secrets in AWS Secrets Manager.
type Backend struct {
	sm    *secretsmanager.Client
	ssm   *ssm.Client
	guard Guard
	// keyAliasPrefix names each tenant's own KMS key (<prefix><tenant>,
	// kms.AWSKMS); "" when tenants have no AWS KMS key (local KMS).
	keyAliasPrefix string
	// tenantKeys, with KMS=awskms, names (creating it if needed) the
	// tenant's own key for a secret created without kms_key_id; nil: such
	// a secret gets Secrets Manager's default key (KMS=local, dev only).
	tenantKeys TenantKeys
}

// TenantKeys finds or creates a tenant's own KMS key (kms.AWSKMS).
type TenantKeys interface {
	EnsureTenantKey(ctx context.Context, tenant string) (alias string, err error)
}

// WithTenantKeys makes the tenant's own key the default kms_key_id of new
// secrets (ADR 0069 §5).
func (b *Backend) WithTenantKeys(tk TenantKeys) *Backend {
	b.tenantKeys = tk
	return b
}

// defaultKMSKey is the kms_key_id a new secret of tenant gets when none is
// given: the tenant's own key when tenants have one, so the tenant's
// crypto-shred covers it; otherwise "" (Secrets Manager's default key).
func (b *Backend) defaultKMSKey(ctx context.Context, tenant string) (string, error) {
	if b.tenantKeys == nil {
		return "", nil
	}
	alias, err := b.tenantKeys.EnsureTenantKey(ctx, tenant)
	if err != nil {
		return "", &vault.Error{Kind: vault.KindUnavailable, Msg: "the tenant's KMS key is not available", Err: err}
	}
	return alias, nil
}

// New returns a Backend over the SDK config (BaseEndpoint may point it at a
// fake or a VPC endpoint). tenantKeyAliasPrefix is the awskms provider's
// alias prefix, "" with local KMS: it bounds what kms_key_id may name.
func New(cfg aws.Config, guard Guard, tenantKeyAliasPrefix string) *Backend {
	return &Backend{sm: secretsmanager.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg), guard: guard, keyAliasPrefix: tenantKeyAliasPrefix}
}

// aliasARN is the start of a KMS alias ARN (arn:<partition>:kms:<region>:<account>:).
var aliasARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:alias/`)

// checkKMSKey bounds a secret's kms_key_id to the tenant's own key: its
// alias or the alias's ARN, or empty for Secrets Manager's default key.
// Passed through as given, any key keyvault's role may use would do, and
// a secret under a key other than the tenant's outlives the tenant's
// crypto-shred (its key's deletion) (ADR 0065 §4). Key ids and key ARNs
// are refused too: keyvault cannot tell whose key they are without asking
// KMS, and the alias is what the tenant's key is known by.
func (b *Backend) checkKMSKey(tenant, id string) error {
	if id == "" {
		return nil
	}
	if b.keyAliasPrefix == "" {
		return vault.Invalidf("kms_key_id", "must be empty: tenants have no AWS KMS key of their own on this server (KMS=local)")
	}
	alias := b.keyAliasPrefix + tenant
	if id == alias || (aliasARN.MatchString(id) && strings.HasSuffix(id, ":"+alias)) {
		return nil
	}
	return vault.Invalidf("kms_key_id", "must be empty (Secrets Manager's default key) or this tenant's own key %s (or its alias ARN)", alias)
}

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func awsName(tenant, name string) (string, error) {
	if !tenantRE.MatchString(tenant) {
		return "", &vault.Error{Kind: vault.KindPermissionDenied, Msg: "tenant id cannot be mapped to AWS names"}
	}
	return "rampart/" + tenant + name, nil
}

func paramName(tenant, name string) string { return "/rampart/" + tenant + name }

// op runs one guarded, audited operation.
func (b *Backend) op(ctx context.Context, a vault.Actor, action, policyAction, name string, fn func(canon, id string) (audit.Record, error)) error {
	canon, err := vault.CanonicalName(name)
	if err != nil {
		return err
	}
	if err := b.guard.Guard(ctx, a, policyAction, canon); err != nil {
		return err
	}
	id, err := awsName(a.Tenant, canon)
	if err == nil {
		var rec audit.Record
		if rec, err = fn(canon, id); err == nil {
			rec.Action, rec.Name, rec.Result = action, canon, audit.ResultOK
			return b.guard.Audit(ctx, a, rec)
		}
	}
	return b.guard.AuditFailure(ctx, a, action, canon, err)
}

// mapErr translates AWS error shapes to vault errors; AWS messages name
// no secret values.
func mapErr(err error, name string) error {
	var (
		rnf *smtypes.ResourceNotFoundException
		rex *smtypes.ResourceExistsException
		ir  *smtypes.InvalidRequestException
		ip  *smtypes.InvalidParameterException
	)
	switch {
	case errors.As(err, &rnf):
		return vault.NotFoundf("secret %q not found", name)
	case errors.As(err, &rex):
		if strings.Contains(rex.ErrorMessage(), "existing version") {
			return vault.Preconditionf("client_request_token was already used with a different value")
		}
		return vault.AlreadyExistsf("secret %q already exists", name)
	case errors.As(err, &ir):
		return vault.Preconditionf("%s", ir.ErrorMessage())
	case errors.As(err, &ip):
		return vault.Invalidf("request", "%s", ip.ErrorMessage())
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ParameterNotFound", "ParameterVersionNotFound":
			return vault.NotFoundf("parameter for %q not found", name)
		case "AccessDeniedException":
			return &vault.Error{Kind: vault.KindPermissionDenied, Msg: "AWS denied the request", Err: err}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return vault.Unavailable("request cancelled", err)
	}
	return vault.Unavailable("AWS Secrets Manager unavailable", err)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func stripTenant(tenant, awsName string) string {
	return strings.TrimPrefix(awsName, "rampart/"+tenant)
}

// CreateSecret implements the RPC.
func (b *Backend) CreateSecret(ctx context.Context, a vault.Actor, in vault.CreateInput) (vault.CreateOutput, error) {
	var out vault.CreateOutput
	err := b.op(ctx, a, "CreateSecret", policy.ActionWrite, in.Name, func(canon, id string) (audit.Record, error) {
		if len(in.Description) > vault.MaxDescriptionLen {
			return audit.Record{}, vault.Invalidf("description", "longer than %d characters", vault.MaxDescriptionLen)
		}
		if err := vault.ValidToken(in.Token); err != nil {
			return audit.Record{}, err
		}
		if err := vault.ValidTags(in.Tags); err != nil {
			return audit.Record{}, err
		}
		if err := b.checkKMSKey(a.Tenant, in.KMSKeyID); err != nil {
			return audit.Record{}, err
		}
		keyID := in.KMSKeyID
		if keyID == "" {
			var err error
			if keyID, err = b.defaultKMSKey(ctx, a.Tenant); err != nil {
				return audit.Record{}, err
			}
		}
		req := &secretsmanager.CreateSecretInput{Name: aws.String(id), Description: optional(in.Description), KmsKeyId: optional(keyID),
			ClientRequestToken: optional(in.Token)}
		for _, t := range in.Tags {
			req.Tags = append(req.Tags, smtypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
		var rec audit.Record
		if in.Value != nil {
			if err := vault.ValidateValue(in.Value, 0); err != nil {
				return rec, err
			}
			setValue(in.Value, &req.SecretString, &req.SecretBinary)
			rec.ValueHMAC = b.guard.ValueHMAC(*in.Value)
		}
		r, err := b.sm.CreateSecret(ctx, req)
		if err != nil {
			return rec, mapErr(err, canon)
		}
		out = vault.CreateOutput{Name: canon, ARN: aws.ToString(r.ARN), VersionID: aws.ToString(r.VersionId)}
		rec.VersionID = out.VersionID
		return rec, nil
	})
	return out, err
}

func setValue(v *vault.Value, str **string, bin *[]byte) {
	if v.IsBinary {
		*bin = v.Binary
	} else {
		*str = aws.String(v.String)
	}
}

// GetSecretValue implements the RPC. A string value that is a
// {{resolve:...}} reference is resolved within the caller's tenant (the
// referenced secret is policy-checked too).
func (b *Backend) GetSecretValue(ctx context.Context, a vault.Actor, name, versionID, stage string) (vault.SecretValue, error) {
	var out vault.SecretValue
	err := b.op(ctx, a, "GetSecretValue", policy.ActionRead, name, func(canon, id string) (audit.Record, error) {
		if versionID != "" {
			if err := vault.ValidToken(versionID); err != nil {
				return audit.Record{}, vault.Invalidf("version_id", "malformed")
			}
		}
		if stage != "" {
			if err := vault.ValidStage("version_stage", stage); err != nil {
				return audit.Record{}, err
			}
		}
		r, err := b.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: optional(versionID), VersionStage: optional(stage)})
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		out = vault.SecretValue{Name: canon, ARN: aws.ToString(r.ARN), VersionID: aws.ToString(r.VersionId), Stages: slices.Sorted(slices.Values(r.VersionStages))}
		if r.CreatedDate != nil {
			out.CreatedAt = r.CreatedDate.UTC()
		}
		if r.SecretString != nil {
			out.Value = vault.Value{String: *r.SecretString, ContentType: vault.ContentText}
			if refs.IsReference(*r.SecretString) {
				v, err := b.resolver(ctx, a).Resolve(ctx, *r.SecretString)
				if err != nil {
					return audit.Record{}, refErr(err)
				}
				out.Value.String = v
			}
		} else {
			out.Value = vault.Value{Binary: r.SecretBinary, IsBinary: true, ContentType: vault.ContentBinary}
		}
		return audit.Record{VersionID: out.VersionID, Stages: out.Stages}, nil
	})
	return out, err
}

func refErr(err error) error {
	var ve *vault.Error
	if errors.As(err, &ve) {
		return err
	}
	if errors.Is(err, refs.ErrSyntax) || errors.Is(err, refs.ErrJSONKey) || errors.Is(err, refs.ErrNoBackend) {
		return vault.Preconditionf("the stored reference cannot be resolved: %v", err)
	}
	return err
}

// tenantRefs resolves references inside one tenant's namespace.
type tenantRefs struct {
	b *Backend
	a vault.Actor
}

func (b *Backend) resolver(_ context.Context, a vault.Actor) refs.Resolver {
	t := tenantRefs{b: b, a: a}
	return refs.Resolver{SM: t, SSM: t}
}

func (t tenantRefs) GetSecretString(ctx context.Context, name, stage, versionID string) (string, error) {
	canon, err := vault.CanonicalName(name)
	if err != nil {
		return "", err
	}
	if err := t.b.guard.Guard(ctx, t.a, policy.ActionRead, canon); err != nil {
		return "", err
	}
	id, err := awsName(t.a.Tenant, canon)
	if err != nil {
		return "", err
	}
	r, err := t.b.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: optional(versionID), VersionStage: optional(stage)})
	if err != nil {
		return "", mapErr(err, canon)
	}
	if r.SecretString == nil {
		return "", vault.Preconditionf("referenced secret %q is binary", canon)
	}
	return *r.SecretString, nil
}

func (t tenantRefs) GetParameter(ctx context.Context, name string, version int64, decrypt bool) (string, error) {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if err := t.b.guard.Guard(ctx, t.a, policy.ActionRead, name); err != nil {
		return "", err
	}
	p := paramName(t.a.Tenant, name)
	if version > 0 {
		p += fmt.Sprintf(":%d", version)
	}
	r, err := t.b.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p), WithDecryption: aws.Bool(decrypt)})
	if err != nil {
		return "", mapErr(err, name)
	}
	return aws.ToString(r.Parameter.Value), nil
}

// BatchGetSecretValue reads up to 20 current values.
func (b *Backend) BatchGetSecretValue(ctx context.Context, a vault.Actor, names []string) ([]vault.BatchResult, error) {
	if len(names) == 0 {
		return nil, vault.Invalidf("names", "required")
	}
	if len(names) > vault.MaxBatch {
		return nil, vault.Invalidf("names", "at most %d", vault.MaxBatch)
	}
	out := make([]vault.BatchResult, 0, len(names))
	for _, n := range names {
		v, err := b.GetSecretValue(ctx, a, n, "", "")
		if vault.KindOf(err) == vault.KindUnavailable {
			return nil, err
		}
		out = append(out, vault.BatchResult{Name: n, Value: v, Err: err})
	}
	return out, nil
}

// PutSecretValue stores a new version.
func (b *Backend) PutSecretValue(ctx context.Context, a vault.Actor, name string, val vault.Value, token string, stages []string) (string, []string, error) {
	var vid string
	var labels []string
	err := b.op(ctx, a, "PutSecretValue", policy.ActionWrite, name, func(canon, id string) (audit.Record, error) {
		if err := vault.ValidToken(token); err != nil {
			return audit.Record{}, err
		}
		if len(stages) > 20 {
			return audit.Record{}, vault.Invalidf("version_stages", "at most 20")
		}
		for _, st := range stages {
			if err := vault.ValidStage("version_stages", st); err != nil {
				return audit.Record{}, err
			}
		}
		if err := vault.ValidateValue(&val, 0); err != nil {
			return audit.Record{}, err
		}
		req := &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), ClientRequestToken: optional(token), VersionStages: stages}
		setValue(&val, &req.SecretString, &req.SecretBinary)
		r, err := b.sm.PutSecretValue(ctx, req)
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		vid, labels = aws.ToString(r.VersionId), slices.Sorted(slices.Values(r.VersionStages))
		return audit.Record{VersionID: vid, Stages: labels, ValueHMAC: b.guard.ValueHMAC(val)}, nil
	})
	return vid, labels, err
}

// UpdateSecret changes description/KMS key and optionally stores a version.
func (b *Backend) UpdateSecret(ctx context.Context, a vault.Actor, in vault.UpdateInput) (string, error) {
	var vid string
	err := b.op(ctx, a, "UpdateSecret", policy.ActionWrite, in.Name, func(canon, id string) (audit.Record, error) {
		if in.Description != nil && len(*in.Description) > vault.MaxDescriptionLen {
			return audit.Record{}, vault.Invalidf("description", "longer than %d characters", vault.MaxDescriptionLen)
		}
		if err := vault.ValidToken(in.Token); err != nil {
			return audit.Record{}, err
		}
		if in.KMSKeyID != nil {
			if err := b.checkKMSKey(a.Tenant, *in.KMSKeyID); err != nil {
				return audit.Record{}, err
			}
		}
		req := &secretsmanager.UpdateSecretInput{SecretId: aws.String(id), Description: in.Description, KmsKeyId: in.KMSKeyID, ClientRequestToken: optional(in.Token)}
		var rec audit.Record
		if in.Value != nil {
			if err := vault.ValidateValue(in.Value, 0); err != nil {
				return rec, err
			}
			setValue(in.Value, &req.SecretString, &req.SecretBinary)
			rec.ValueHMAC = b.guard.ValueHMAC(*in.Value)
		}
		r, err := b.sm.UpdateSecret(ctx, req)
		if err != nil {
			return rec, mapErr(err, canon)
		}
		vid = aws.ToString(r.VersionId)
		rec.VersionID = vid
		return rec, nil
	})
	return vid, err
}

func metadataOf(tenant string, d *secretsmanager.DescribeSecretOutput) vault.Metadata {
	m := vault.Metadata{Secret: store.Secret{TenantID: tenant, Name: stripTenant(tenant, aws.ToString(d.Name)), ARN: aws.ToString(d.ARN),
		Description: aws.ToString(d.Description), KMSKeyID: aws.ToString(d.KmsKeyId)}}
	set := func(dst *time.Time, src *time.Time) {
		if src != nil {
			*dst = src.UTC()
		}
	}
	set(&m.CreatedAt, d.CreatedDate)
	set(&m.LastChangedAt, d.LastChangedDate)
	set(&m.LastAccessedAt, d.LastAccessedDate)
	set(&m.DeletedAt, d.DeletedDate)
	set(&m.LastRotatedAt, d.LastRotatedDate)
	set(&m.NextRotationAt, d.NextRotationDate)
	m.RotationEnabled = aws.ToBool(d.RotationEnabled)
	for _, t := range d.Tags {
		m.Tags = append(m.Tags, vault.Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
	}
	for vid, stages := range d.VersionIdsToStages {
		m.Versions = append(m.Versions, vault.VersionInfo{VersionID: vid, Stages: slices.Sorted(slices.Values(stages))})
	}
	sort.Slice(m.Versions, func(i, j int) bool { return m.Versions[i].VersionID < m.Versions[j].VersionID })
	m.VersionCount = len(m.Versions)
	switch {
	case !m.RotationEnabled:
		m.RotationStatus = vault.RotationDisabled
	case !m.NextRotationAt.IsZero() && m.NextRotationAt.Before(time.Now().Add(-time.Hour)):
		m.RotationStatus = vault.RotationOverdue
	default:
		m.RotationStatus = vault.RotationScheduled
	}
	return m
}

// DescribeSecret implements the RPC.
func (b *Backend) DescribeSecret(ctx context.Context, a vault.Actor, name string) (vault.Metadata, error) {
	var m vault.Metadata
	err := b.op(ctx, a, "DescribeSecret", policy.ActionDescribe, name, func(canon, id string) (audit.Record, error) {
		d, err := b.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		m = metadataOf(a.Tenant, d)
		return audit.Record{}, nil
	})
	return m, err
}

// ListSecrets lists the tenant's secrets under a name prefix.
func (b *Backend) ListSecrets(ctx context.Context, a vault.Actor, in vault.ListInput) ([]vault.Metadata, string, error) {
	if in.PageSize < 0 || in.PageSize > 100 {
		return nil, "", vault.Invalidf("page_size", "must be 0-100")
	}
	prefix, err := awsName(a.Tenant, "/"+strings.TrimPrefix(in.NamePrefix, "/"))
	if err != nil {
		return nil, "", err
	}
	req := &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
		NextToken: optional(in.PageToken), IncludePlannedDeletion: aws.Bool(in.IncludeDeleted)}
	if in.PageSize > 0 {
		req.MaxResults = aws.Int32(int32(in.PageSize)) //nolint:gosec // bounded above
	}
	r, err := b.sm.ListSecrets(ctx, req)
	if err != nil {
		return nil, "", mapErr(err, in.NamePrefix)
	}
	var out []vault.Metadata
	for _, e := range r.SecretList {
		name := stripTenant(a.Tenant, aws.ToString(e.Name))
		if b.guard.Guard(ctx, a, policy.ActionDescribe, name) != nil {
			continue
		}
		m := metadataOf(a.Tenant, &secretsmanager.DescribeSecretOutput{Name: e.Name, ARN: e.ARN, Description: e.Description, KmsKeyId: e.KmsKeyId,
			CreatedDate: e.CreatedDate, LastChangedDate: e.LastChangedDate, LastAccessedDate: e.LastAccessedDate, DeletedDate: e.DeletedDate,
			LastRotatedDate: e.LastRotatedDate, NextRotationDate: e.NextRotationDate, RotationEnabled: e.RotationEnabled,
			Tags: e.Tags, VersionIdsToStages: e.SecretVersionsToStages})
		if in.TagKey != "" && !slices.ContainsFunc(m.Tags, func(t vault.Tag) bool {
			return t.Key == in.TagKey && (in.TagValue == "" || t.Value == in.TagValue)
		}) {
			continue
		}
		out = append(out, m)
	}
	return out, aws.ToString(r.NextToken), nil
}

// ListSecretVersionIds implements the RPC.
func (b *Backend) ListSecretVersionIds(ctx context.Context, a vault.Actor, name string, includeDeprecated bool, pageSize int, pageToken string) ([]vault.VersionInfo, string, error) {
	var out []vault.VersionInfo
	var next string
	err := b.op(ctx, a, "ListSecretVersionIds", policy.ActionDescribe, name, func(canon, id string) (audit.Record, error) {
		req := &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(id), IncludeDeprecated: aws.Bool(includeDeprecated), NextToken: optional(pageToken)}
		if pageSize > 0 {
			req.MaxResults = aws.Int32(int32(min(pageSize, 100))) //nolint:gosec // bounded
		}
		r, err := b.sm.ListSecretVersionIds(ctx, req)
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		for _, v := range r.Versions {
			vi := vault.VersionInfo{VersionID: aws.ToString(v.VersionId), Stages: slices.Sorted(slices.Values(v.VersionStages))}
			if v.CreatedDate != nil {
				vi.CreatedAt = v.CreatedDate.UTC()
			}
			out = append(out, vi)
		}
		next = aws.ToString(r.NextToken)
		return audit.Record{}, nil
	})
	return out, next, err
}

// UpdateSecretVersionStage implements the RPC.
func (b *Backend) UpdateSecretVersionStage(ctx context.Context, a vault.Actor, name, stage, moveTo, removeFrom string) error {
	return b.op(ctx, a, "UpdateSecretVersionStage", policy.ActionWrite, name, func(canon, id string) (audit.Record, error) {
		if err := vault.ValidStage("version_stage", stage); err != nil {
			return audit.Record{}, err
		}
		if moveTo == "" && removeFrom == "" {
			return audit.Record{}, vault.Invalidf("move_to_version_id", "move_to_version_id or remove_from_version_id is required")
		}
		if moveTo == "" && stage == vault.StageCurrent {
			return audit.Record{}, vault.Invalidf("version_stage", "AWSCURRENT can only be moved to another version, not removed")
		}
		_, err := b.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id), VersionStage: aws.String(stage),
			MoveToVersionId: optional(moveTo), RemoveFromVersionId: optional(removeFrom)})
		if err != nil {
			var ip *smtypes.InvalidParameterException
			if errors.As(err, &ip) {
				return audit.Record{}, vault.Invalidf("remove_from_version_id", "%s", ip.ErrorMessage())
			}
			return audit.Record{}, mapErr(err, canon)
		}
		return audit.Record{VersionID: moveTo, Stages: []string{stage}}, nil
	})
}

// DeleteSecret implements the RPC.
func (b *Backend) DeleteSecret(ctx context.Context, a vault.Actor, name string, windowDays int, force bool) (time.Time, error) {
	var when time.Time
	err := b.op(ctx, a, "DeleteSecret", policy.ActionDelete, name, func(canon, id string) (audit.Record, error) {
		if force && windowDays != 0 {
			return audit.Record{}, vault.Invalidf("recovery_window_in_days", "cannot be combined with force_delete_without_recovery")
		}
		req := &secretsmanager.DeleteSecretInput{SecretId: aws.String(id)}
		if force {
			req.ForceDeleteWithoutRecovery = aws.Bool(true)
		} else {
			if windowDays == 0 {
				windowDays = vault.MaxRecoveryDays
			}
			if windowDays < vault.MinRecoveryDays || windowDays > vault.MaxRecoveryDays {
				return audit.Record{}, vault.Invalidf("recovery_window_in_days", "must be %d-%d", vault.MinRecoveryDays, vault.MaxRecoveryDays)
			}
			req.RecoveryWindowInDays = aws.Int64(int64(windowDays))
		}
		r, err := b.sm.DeleteSecret(ctx, req)
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		if r.DeletionDate != nil {
			when = r.DeletionDate.UTC()
		}
		return audit.Record{Detail: "deletion " + when.Format(time.RFC3339)}, nil
	})
	return when, err
}

// RestoreSecret implements the RPC.
func (b *Backend) RestoreSecret(ctx context.Context, a vault.Actor, name string) error {
	return b.op(ctx, a, "RestoreSecret", policy.ActionDelete, name, func(canon, id string) (audit.Record, error) {
		_, err := b.sm.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String(id)})
		return audit.Record{}, mapErrOrNil(err, canon)
	})
}

func mapErrOrNil(err error, name string) error {
	if err == nil {
		return nil
	}
	return mapErr(err, name)
}

// TagResource implements the RPC.
func (b *Backend) TagResource(ctx context.Context, a vault.Actor, name string, tags []vault.Tag) error {
	return b.op(ctx, a, "TagResource", policy.ActionWrite, name, func(canon, id string) (audit.Record, error) {
		if len(tags) == 0 {
			return audit.Record{}, vault.Invalidf("tags", "required")
		}
		if err := vault.ValidTags(tags); err != nil {
			return audit.Record{}, err
		}
		req := &secretsmanager.TagResourceInput{SecretId: aws.String(id)}
		for _, t := range tags {
			req.Tags = append(req.Tags, smtypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
		_, err := b.sm.TagResource(ctx, req)
		return audit.Record{}, mapErrOrNil(err, canon)
	})
}

// UntagResource implements the RPC.
func (b *Backend) UntagResource(ctx context.Context, a vault.Actor, name string, keys []string) error {
	return b.op(ctx, a, "UntagResource", policy.ActionWrite, name, func(canon, id string) (audit.Record, error) {
		if len(keys) == 0 {
			return audit.Record{}, vault.Invalidf("tag_keys", "required")
		}
		_, err := b.sm.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(id), TagKeys: keys})
		return audit.Record{}, mapErrOrNil(err, canon)
	})
}

// RotateSecret is not offered: AWS rotation runs Lambda functions.
func (b *Backend) RotateSecret(context.Context, vault.Actor, vault.RotateInput) (vault.RotateOutput, error) {
	return vault.RotateOutput{}, vault.Unimplementedf("rotation is not available with the awssm backend; configure rotation in AWS")
}

// CancelRotateSecret is not offered.
func (b *Backend) CancelRotateSecret(context.Context, vault.Actor, string) (string, error) {
	return "", vault.Unimplementedf("rotation is not available with the awssm backend")
}

// RollbackSecret moves AWSCURRENT back to the AWSPREVIOUS version.
func (b *Backend) RollbackSecret(ctx context.Context, a vault.Actor, name string) (string, error) {
	var vid string
	err := b.op(ctx, a, "RollbackSecret", policy.ActionRotate, name, func(canon, id string) (audit.Record, error) {
		d, err := b.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		var cur, prev string
		for v, stages := range d.VersionIdsToStages {
			if slices.Contains(stages, vault.StageCurrent) {
				cur = v
			}
			if slices.Contains(stages, vault.StagePrevious) {
				prev = v
			}
		}
		if prev == "" {
			return audit.Record{}, vault.Preconditionf("secret %q has no AWSPREVIOUS version to roll back to", canon)
		}
		if _, err := b.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
			VersionStage: aws.String(vault.StageCurrent), MoveToVersionId: aws.String(prev), RemoveFromVersionId: aws.String(cur)}); err != nil {
			return audit.Record{}, mapErr(err, canon)
		}
		vid = prev
		return audit.Record{VersionID: prev, Stages: []string{vault.StageCurrent}, Detail: "from " + cur}, nil
	})
	return vid, err
}

// DaysUntilRotation returns whole days to AWS's next rotation date
// (negative when overdue); ok is false when AWS rotation is off.
func (b *Backend) DaysUntilRotation(m vault.Metadata) (int32, bool) {
	if !m.RotationEnabled || m.NextRotationAt.IsZero() {
		return 0, false
	}
	return int32(math.Floor(time.Until(m.NextRotationAt).Hours() / 24)), true
}

// Observe lists the tenant's secrets from AWS Secrets Manager (ListSecrets,
// scheduled deletions included) for the observability endpoint: metadata
// and AWS's own rotation dates, never values. One audit record covers the
// listing; if it cannot be written the listing fails.
func (b *Backend) Observe(ctx context.Context, a vault.Actor, prefix string) ([]vault.Metadata, error) {
	var out []vault.Metadata
	token := ""
	for {
		page, next, err := b.ListSecrets(ctx, a, vault.ListInput{NamePrefix: prefix, PageSize: 100, PageToken: token, IncludeDeleted: true})
		if err != nil {
			return nil, b.guard.AuditFailure(ctx, a, "ListSecretsObservability", prefix, err)
		}
		out = append(out, page...)
		if next == "" || len(out) >= 10000 {
			break
		}
		token = next
	}
	if err := b.guard.Audit(ctx, a, audit.Record{Action: "ListSecretsObservability", Name: prefix, Result: audit.ResultOK,
		Detail: fmt.Sprintf("backend=awssm secrets=%d", len(out))}); err != nil {
		return nil, err
	}
	return out, nil
}
