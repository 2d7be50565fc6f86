package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// Secrets implements keyvaultv1.SecretsServiceServer.
type Secrets struct {
	keyvaultv1.UnimplementedSecretsServiceServer
	svc SecretsBackend
	log *slog.Logger
}

// NewSecrets returns the SecretsService handlers over a backend.
func NewSecrets(svc SecretsBackend, log *slog.Logger) *Secrets { return &Secrets{svc: svc, log: log} }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func value(str string, bin []byte, ct keyvaultv1.ContentType) *vault.Value {
	if len(bin) > 0 || ct == keyvaultv1.ContentType_CONTENT_TYPE_BINARY {
		return &vault.Value{Binary: bin, IsBinary: len(bin) > 0, ContentType: int(ct)}
	}
	return &vault.Value{String: str, ContentType: int(ct)}
}

func tags(in []*keyvaultv1.Tag) []vault.Tag {
	out := make([]vault.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, vault.Tag{Key: t.GetKey(), Value: t.GetValue()})
	}
	return out
}

// CreateSecret implements the RPC.
func (s *Secrets) CreateSecret(ctx context.Context, r *keyvaultv1.CreateSecretRequest) (*keyvaultv1.CreateSecretResponse, error) {
	in := vault.CreateInput{Name: r.GetName(), Description: r.GetDescription(), KMSKeyID: r.GetKmsKeyId(), Token: r.GetClientRequestToken(), Tags: tags(r.GetTags())}
	if r.GetSecretString() != "" || len(r.GetSecretBinary()) > 0 {
		in.Value = value(r.GetSecretString(), r.GetSecretBinary(), r.GetContentType())
	}
	out, err := s.svc.CreateSecret(ctx, actor(ctx), in)
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &keyvaultv1.CreateSecretResponse{Name: out.Name, Arn: out.ARN, VersionId: out.VersionID}, nil
}

func valueResponse(v vault.SecretValue) *keyvaultv1.GetSecretValueResponse {
	r := &keyvaultv1.GetSecretValueResponse{Name: v.Name, Arn: v.ARN, VersionId: v.VersionID, VersionStages: v.Stages,
		CreatedAt: ts(v.CreatedAt), ContentType: keyvaultv1.ContentType(v.Value.ContentType)} //nolint:gosec // small enum
	if v.Value.IsBinary {
		r.SecretBinary = v.Value.Binary
	} else {
		r.SecretString = v.Value.String
	}
	return r
}

// GetSecretValue implements the RPC.
func (s *Secrets) GetSecretValue(ctx context.Context, r *keyvaultv1.GetSecretValueRequest) (*keyvaultv1.GetSecretValueResponse, error) {
	v, err := s.svc.GetSecretValue(ctx, actor(ctx), r.GetName(), r.GetVersionId(), r.GetVersionStage())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return valueResponse(v), nil
}

// BatchGetSecretValue implements the RPC.
func (s *Secrets) BatchGetSecretValue(ctx context.Context, r *keyvaultv1.BatchGetSecretValueRequest) (*keyvaultv1.BatchGetSecretValueResponse, error) {
	res, err := s.svc.BatchGetSecretValue(ctx, actor(ctx), r.GetNames())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	out := &keyvaultv1.BatchGetSecretValueResponse{}
	for _, b := range res {
		if b.Err != nil {
			st := toStatus(ctx, s.log, b.Err)
			code := map[vault.Kind]string{vault.KindNotFound: "NotFound", vault.KindPermissionDenied: "AccessDenied",
				vault.KindInvalid: "InvalidArgument", vault.KindFailedPrecondition: "FailedPrecondition"}[vault.KindOf(b.Err)]
			if code == "" {
				code = "Internal"
			}
			out.Errors = append(out.Errors, &keyvaultv1.BatchGetError{Name: b.Name, ErrorCode: code, Message: statusMessage(st)})
			continue
		}
		out.SecretValues = append(out.SecretValues, valueResponse(b.Value))
	}
	return out, nil
}

// PutSecretValue implements the RPC.
func (s *Secrets) PutSecretValue(ctx context.Context, r *keyvaultv1.PutSecretValueRequest) (*keyvaultv1.PutSecretValueResponse, error) {
	v := value(r.GetSecretString(), r.GetSecretBinary(), r.GetContentType())
	vid, labels, err := s.svc.PutSecretValue(ctx, actor(ctx), r.GetName(), *v, r.GetClientRequestToken(), r.GetVersionStages())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.PutSecretValueResponse{Name: name, VersionId: vid, VersionStages: labels}, nil
}

// UpdateSecret implements the RPC.
func (s *Secrets) UpdateSecret(ctx context.Context, r *keyvaultv1.UpdateSecretRequest) (*keyvaultv1.UpdateSecretResponse, error) {
	in := vault.UpdateInput{Name: r.GetName(), Description: r.Description, KMSKeyID: r.KmsKeyId, Token: r.GetClientRequestToken()}
	if r.SecretString != nil || r.SecretBinary != nil {
		in.Value = value(r.GetSecretString(), r.GetSecretBinary(), r.GetContentType())
	}
	vid, err := s.svc.UpdateSecret(ctx, actor(ctx), in)
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.UpdateSecretResponse{Name: name, VersionId: vid}, nil
}

func metadataProto(m vault.Metadata) *keyvaultv1.SecretMetadata {
	out := &keyvaultv1.SecretMetadata{
		Name: m.Name, Arn: m.ARN, Description: m.Description, KmsKeyId: m.KMSKeyID,
		ContentType: keyvaultv1.ContentType(m.ContentType), //nolint:gosec // small enum
		CreatedAt:   ts(m.CreatedAt), LastChangedAt: ts(m.LastChangedAt), LastAccessedAt: ts(m.LastAccessedAt),
		DeletedAt: ts(m.DeletedAt), RotationEnabled: m.RotationEnabled, LastRotatedAt: ts(m.LastRotatedAt),
		NextRotationAt: ts(m.NextRotationAt), RotationStatus: keyvaultv1.RotationStatus(m.RotationStatus), //nolint:gosec // small enum
		RotationStep: m.RotationStep, RotationError: m.RotationError,
	}
	if m.RotationSchedule != "" {
		out.RotationRules = &keyvaultv1.RotationRules{ScheduleExpression: m.RotationSchedule}
	}
	if m.Function != nil {
		out.RotationFunction = functionProto(*m.Function)
	}
	for _, t := range m.Tags {
		out.Tags = append(out.Tags, &keyvaultv1.Tag{Key: t.Key, Value: t.Value})
	}
	out.Versions = versionsProto(m.Versions)
	return out
}

func versionsProto(vs []vault.VersionInfo) []*keyvaultv1.VersionInfo {
	out := make([]*keyvaultv1.VersionInfo, 0, len(vs))
	for _, v := range vs {
		out = append(out, &keyvaultv1.VersionInfo{VersionId: v.VersionID, VersionStages: v.Stages, CreatedAt: ts(v.CreatedAt)})
	}
	return out
}

func functionProto(c rotation.Config) *keyvaultv1.RotationFunction {
	f := &keyvaultv1.RotationFunction{WebhookUrl: c.WebhookURL}
	switch c.Type {
	case rotation.TypeRandomPassword:
		f.Type = keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD
	case rotation.TypeWebhook:
		f.Type = keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_WEBHOOK
	case rotation.TypeRampartAPIKey:
		f.Type = keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RAMPART_API_KEY
		f.ApiKey = &keyvaultv1.ApiKeyRotation{JsonKey: c.APIKey.JSONKey, OverlapSeconds: c.APIKey.OverlapSeconds}
	}
	p := c.Password
	f.PasswordPolicy = &keyvaultv1.PasswordPolicy{Length: int32(p.Length), ExcludeLowercase: p.ExcludeLowercase, //nolint:gosec // ≤4096
		ExcludeUppercase: p.ExcludeUppercase, ExcludeNumbers: p.ExcludeNumbers, ExcludePunctuation: p.ExcludePunctuation, JsonKey: p.JSONKey}
	return f
}

// DescribeSecret implements the RPC.
func (s *Secrets) DescribeSecret(ctx context.Context, r *keyvaultv1.DescribeSecretRequest) (*keyvaultv1.DescribeSecretResponse, error) {
	m, err := s.svc.DescribeSecret(ctx, actor(ctx), r.GetName())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &keyvaultv1.DescribeSecretResponse{Secret: metadataProto(m)}, nil
}

// ListSecrets implements the RPC.
func (s *Secrets) ListSecrets(ctx context.Context, r *keyvaultv1.ListSecretsRequest) (*keyvaultv1.ListSecretsResponse, error) {
	ms, next, err := s.svc.ListSecrets(ctx, actor(ctx), vault.ListInput{NamePrefix: r.GetNamePrefix(), TagKey: r.GetTagKey(),
		TagValue: r.GetTagValue(), PageSize: int(r.GetPageSize()), PageToken: r.GetPageToken(), IncludeDeleted: r.GetIncludePlannedDeletion()})
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	out := &keyvaultv1.ListSecretsResponse{NextPageToken: next}
	for _, m := range ms {
		out.Secrets = append(out.Secrets, metadataProto(m))
	}
	return out, nil
}

// ListSecretVersionIds implements the RPC.
func (s *Secrets) ListSecretVersionIds(ctx context.Context, r *keyvaultv1.ListSecretVersionIdsRequest) (*keyvaultv1.ListSecretVersionIdsResponse, error) {
	vs, next, err := s.svc.ListSecretVersionIds(ctx, actor(ctx), r.GetName(), r.GetIncludeDeprecated(), int(r.GetPageSize()), r.GetPageToken())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.ListSecretVersionIdsResponse{Name: name, Versions: versionsProto(vs), NextPageToken: next}, nil
}

// UpdateSecretVersionStage implements the RPC.
func (s *Secrets) UpdateSecretVersionStage(ctx context.Context, r *keyvaultv1.UpdateSecretVersionStageRequest) (*keyvaultv1.UpdateSecretVersionStageResponse, error) {
	if err := s.svc.UpdateSecretVersionStage(ctx, actor(ctx), r.GetName(), r.GetVersionStage(), r.GetMoveToVersionId(), r.GetRemoveFromVersionId()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.UpdateSecretVersionStageResponse{Name: name}, nil
}

// DeleteSecret implements the RPC.
func (s *Secrets) DeleteSecret(ctx context.Context, r *keyvaultv1.DeleteSecretRequest) (*keyvaultv1.DeleteSecretResponse, error) {
	when, err := s.svc.DeleteSecret(ctx, actor(ctx), r.GetName(), int(r.GetRecoveryWindowInDays()), r.GetForceDeleteWithoutRecovery())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.DeleteSecretResponse{Name: name, DeletionDate: ts(when)}, nil
}

// RestoreSecret implements the RPC.
func (s *Secrets) RestoreSecret(ctx context.Context, r *keyvaultv1.RestoreSecretRequest) (*keyvaultv1.RestoreSecretResponse, error) {
	if err := s.svc.RestoreSecret(ctx, actor(ctx), r.GetName()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.RestoreSecretResponse{Name: name}, nil
}

// TagResource implements the RPC.
func (s *Secrets) TagResource(ctx context.Context, r *keyvaultv1.TagResourceRequest) (*keyvaultv1.TagResourceResponse, error) {
	if err := s.svc.TagResource(ctx, actor(ctx), r.GetName(), tags(r.GetTags())); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &keyvaultv1.TagResourceResponse{}, nil
}

// UntagResource implements the RPC.
func (s *Secrets) UntagResource(ctx context.Context, r *keyvaultv1.UntagResourceRequest) (*keyvaultv1.UntagResourceResponse, error) {
	if err := s.svc.UntagResource(ctx, actor(ctx), r.GetName(), r.GetTagKeys()); err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &keyvaultv1.UntagResourceResponse{}, nil
}

// RotateSecret implements the RPC.
func (s *Secrets) RotateSecret(ctx context.Context, r *keyvaultv1.RotateSecretRequest) (*keyvaultv1.RotateSecretResponse, error) {
	in := vault.RotateInput{Name: r.GetName(), Token: r.GetClientRequestToken(), Schedule: r.GetRotationRules().GetScheduleExpression(),
		RotateImmediately: r.RotateImmediately == nil || r.GetRotateImmediately()}
	if f := r.GetRotationFunction(); f != nil {
		c := &rotation.Config{WebhookURL: f.GetWebhookUrl()}
		switch f.GetType() {
		case keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD:
			c.Type = rotation.TypeRandomPassword
		case keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_WEBHOOK:
			c.Type = rotation.TypeWebhook
		case keyvaultv1.RotationFunctionType_ROTATION_FUNCTION_TYPE_RAMPART_API_KEY:
			c.Type = rotation.TypeRampartAPIKey
		}
		if k := f.GetApiKey(); k != nil {
			c.APIKey = rotation.APIKeyOptions{JSONKey: k.GetJsonKey(), OverlapSeconds: k.GetOverlapSeconds()}
		}
		if p := f.GetPasswordPolicy(); p != nil {
			c.Password = rotation.PasswordPolicy{Length: int(p.GetLength()), ExcludeLowercase: p.GetExcludeLowercase(),
				ExcludeUppercase: p.GetExcludeUppercase(), ExcludeNumbers: p.GetExcludeNumbers(),
				ExcludePunctuation: p.GetExcludePunctuation(), JSONKey: p.GetJsonKey()}
		}
		in.Function = c
	}
	out, err := s.svc.RotateSecret(ctx, actor(ctx), in)
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	return &keyvaultv1.RotateSecretResponse{Name: out.Name, VersionId: out.VersionID,
		RotationStatus: keyvaultv1.RotationStatus(out.Status), RotationError: out.Error}, nil //nolint:gosec // small enum
}

// CancelRotateSecret implements the RPC.
func (s *Secrets) CancelRotateSecret(ctx context.Context, r *keyvaultv1.CancelRotateSecretRequest) (*keyvaultv1.CancelRotateSecretResponse, error) {
	vid, err := s.svc.CancelRotateSecret(ctx, actor(ctx), r.GetName())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.CancelRotateSecretResponse{Name: name, VersionId: vid}, nil
}

// RollbackSecret implements the RPC.
func (s *Secrets) RollbackSecret(ctx context.Context, r *keyvaultv1.RollbackSecretRequest) (*keyvaultv1.RollbackSecretResponse, error) {
	vid, err := s.svc.RollbackSecret(ctx, actor(ctx), r.GetName())
	if err != nil {
		return nil, toStatus(ctx, s.log, err)
	}
	name, _ := vault.CanonicalName(r.GetName())
	return &keyvaultv1.RollbackSecretResponse{Name: name, VersionId: vid}, nil
}
