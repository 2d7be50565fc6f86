package kms

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskms "github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// AWSKMSAPI is the part of the AWS KMS client the provider uses.
type AWSKMSAPI interface {
	GenerateDataKey(ctx context.Context, in *awskms.GenerateDataKeyInput, opts ...func(*awskms.Options)) (*awskms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *awskms.DecryptInput, opts ...func(*awskms.Options)) (*awskms.DecryptOutput, error)
	DescribeKey(ctx context.Context, in *awskms.DescribeKeyInput, opts ...func(*awskms.Options)) (*awskms.DescribeKeyOutput, error)
	CreateKey(ctx context.Context, in *awskms.CreateKeyInput, opts ...func(*awskms.Options)) (*awskms.CreateKeyOutput, error)
	CreateAlias(ctx context.Context, in *awskms.CreateAliasInput, opts ...func(*awskms.Options)) (*awskms.CreateAliasOutput, error)
	ScheduleKeyDeletion(ctx context.Context, in *awskms.ScheduleKeyDeletionInput, opts ...func(*awskms.Options)) (*awskms.ScheduleKeyDeletionOutput, error)
	RotateKeyOnDemand(ctx context.Context, in *awskms.RotateKeyOnDemandInput, opts ...func(*awskms.Options)) (*awskms.RotateKeyOnDemandOutput, error)
}

// TenantContextKey is the encryption-context key AWSKMS binds every data key
// to: its value is the tenant id, so a wrapped key only opens for its tenant
// (and CloudTrail shows whose key was used).
const TenantContextKey = "rampart:tenant"

// AWSKMS is the awskms provider: one customer managed key per tenant (a
// unique key per tenant account, docs/deploy.md), found by alias
// <AliasPrefix><tenant> and created on first use. Data keys come from
// GenerateDataKey and open with Decrypt, both with the tenant in the
// encryption context. Destroying a tenant schedules its key's deletion
// (7 days, the AWS minimum); from then on nothing of the tenant decrypts.
type AWSKMS struct {
	api    AWSKMSAPI
	prefix string

	mu   sync.Mutex
	arns map[string]string // tenant → key ARN
}

// DefaultAliasPrefix names tenant keys alias/rampart-tenant-<tenant>.
const DefaultAliasPrefix = "alias/rampart-tenant-"

// NewAWSKMS returns the provider; aliasPrefix "" takes DefaultAliasPrefix.
func NewAWSKMS(api AWSKMSAPI, aliasPrefix string) *AWSKMS {
	if aliasPrefix == "" {
		aliasPrefix = DefaultAliasPrefix
	}
	return &AWSKMS{api: api, prefix: aliasPrefix, arns: map[string]string{}}
}

// NewAWSKMSFromConfig builds the client from an SDK config.
func NewAWSKMSFromConfig(cfg aws.Config, aliasPrefix string) *AWSKMS {
	return NewAWSKMS(awskms.NewFromConfig(cfg), aliasPrefix)
}

// Name implements Provider.
func (p *AWSKMS) Name() string { return "awskms" }

var awsTenantRE = regexp.MustCompile(`^[A-Za-z0-9/_-]{1,200}$`)

func (p *AWSKMS) alias(tenant string) (string, error) {
	if !awsTenantRE.MatchString(tenant) {
		return "", fmt.Errorf("kms: tenant id %q cannot be used in a KMS alias", tenant)
	}
	return p.prefix + tenant, nil
}

func tenantContext(tenant string, encCtx map[string]string) map[string]string {
	out := make(map[string]string, len(encCtx)+1)
	maps.Copy(out, encCtx)
	out[TenantContextKey] = tenant
	return out
}

// keyARN finds (or creates) the tenant's key.
func (p *AWSKMS) keyARN(ctx context.Context, tenant string, create bool) (string, error) {
	p.mu.Lock()
	arn, ok := p.arns[tenant]
	p.mu.Unlock()
	if ok {
		return arn, nil
	}
	alias, err := p.alias(tenant)
	if err != nil {
		return "", err
	}
	d, err := p.api.DescribeKey(ctx, &awskms.DescribeKeyInput{KeyId: aws.String(alias)})
	var nf *kmstypes.NotFoundException
	switch {
	case err == nil:
		arn = aws.ToString(d.KeyMetadata.Arn)
	case errors.As(err, &nf) && create:
		k, err := p.api.CreateKey(ctx, &awskms.CreateKeyInput{Description: aws.String("Rampart tenant " + tenant + " key-encryption key"),
			Tags: []kmstypes.Tag{{TagKey: aws.String("rampart:tenant"), TagValue: aws.String(tenant)}}})
		if err != nil {
			return "", fmt.Errorf("kms: create tenant key: %w", err)
		}
		if _, err := p.api.CreateAlias(ctx, &awskms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: k.KeyMetadata.KeyId}); err != nil {
			var exists *kmstypes.AlreadyExistsException
			if !errors.As(err, &exists) {
				return "", fmt.Errorf("kms: alias tenant key: %w", err)
			}
			// Another replica won the race; use its key.
			return p.keyARN(ctx, tenant, false)
		}
		arn = aws.ToString(k.KeyMetadata.Arn)
	case errors.As(err, &nf):
		return "", ErrShredded
	default:
		return "", fmt.Errorf("kms: describe tenant key: %w", err)
	}
	p.mu.Lock()
	p.arns[tenant] = arn
	p.mu.Unlock()
	return arn, nil
}

// EnsureTenantKey returns the alias of tenant's key, creating the key
// first when the tenant has none yet. The awssm backend names it as a new
// secret's default kms_key_id, so the tenant's crypto-shred covers the
// secret (ADR 0069 §5).
func (p *AWSKMS) EnsureTenantKey(ctx context.Context, tenant string) (string, error) {
	if _, err := p.keyARN(ctx, tenant, true); err != nil {
		return "", err
	}
	return p.alias(tenant)
}

func mapKMSErr(err error) error {
	var (
		ic  *kmstypes.InvalidCiphertextException
		ik  *kmstypes.IncorrectKeyException
		is  *kmstypes.KMSInvalidStateException
		nf  *kmstypes.NotFoundException
		dis *kmstypes.DisabledException
	)
	switch {
	case errors.As(err, &ic), errors.As(err, &ik):
		return ErrDecrypt
	case errors.As(err, &is), errors.As(err, &nf), errors.As(err, &dis):
		return ErrShredded
	}
	return fmt.Errorf("kms: aws: %w", err)
}

// GenerateDataKey implements Provider.
func (p *AWSKMS) GenerateDataKey(ctx context.Context, tenant string, encCtx map[string]string) (DataKey, error) {
	arn, err := p.keyARN(ctx, tenant, true)
	if err != nil {
		return DataKey{}, err
	}
	out, err := p.api.GenerateDataKey(ctx, &awskms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: kmstypes.DataKeySpecAes256,
		EncryptionContext: tenantContext(tenant, encCtx)})
	if err != nil {
		return DataKey{}, mapKMSErr(err)
	}
	if len(out.Plaintext) != DataKeySize {
		return DataKey{}, fmt.Errorf("kms: aws returned a %d-byte data key", len(out.Plaintext))
	}
	return DataKey{Plaintext: out.Plaintext, Wrapped: out.CiphertextBlob, KeyID: aws.ToString(out.KeyId)}, nil
}

// Decrypt implements Provider. The tenant's own key id is sent, so a blob
// wrapped under another tenant's key fails even before the context check.
func (p *AWSKMS) Decrypt(ctx context.Context, tenant string, wrapped []byte, encCtx map[string]string) ([]byte, string, error) {
	arn, err := p.keyARN(ctx, tenant, false)
	if err != nil {
		return nil, "", err
	}
	out, err := p.api.Decrypt(ctx, &awskms.DecryptInput{KeyId: aws.String(arn), CiphertextBlob: wrapped, EncryptionContext: tenantContext(tenant, encCtx)})
	if err != nil {
		return nil, "", mapKMSErr(err)
	}
	return out.Plaintext, aws.ToString(out.KeyId), nil
}

// RotateTenantKey rotates the tenant key's material on demand; old data
// keys still decrypt (KMS keeps prior material).
func (p *AWSKMS) RotateTenantKey(ctx context.Context, tenant string) (string, error) {
	arn, err := p.keyARN(ctx, tenant, true)
	if err != nil {
		return "", err
	}
	if _, err := p.api.RotateKeyOnDemand(ctx, &awskms.RotateKeyOnDemandInput{KeyId: aws.String(arn)}); err != nil {
		return "", mapKMSErr(err)
	}
	return arn, nil
}

// DestroyTenant schedules deletion of the tenant's key (crypto-shred): it is
// unusable at once and gone after 7 days.
func (p *AWSKMS) DestroyTenant(ctx context.Context, tenant string) error {
	arn, err := p.keyARN(ctx, tenant, false)
	if errors.Is(err, ErrShredded) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := p.api.ScheduleKeyDeletion(ctx, &awskms.ScheduleKeyDeletionInput{KeyId: aws.String(arn), PendingWindowInDays: aws.Int32(7)}); err != nil {
		var is *kmstypes.KMSInvalidStateException
		if errors.As(err, &is) {
			return nil // already pending deletion
		}
		return fmt.Errorf("kms: schedule key deletion: %w", err)
	}
	return nil
}

var _ Provider = (*AWSKMS)(nil)
