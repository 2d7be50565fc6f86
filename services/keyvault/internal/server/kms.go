package server

import (
	"context"
	"log/slog"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// KMS implements keyvaultv1.KmsServiceServer.
type KMS struct {
	keyvaultv1.UnimplementedKmsServiceServer
	svc *vault.Service
	log *slog.Logger
}

// NewKMS returns the KmsService handlers.
func NewKMS(svc *vault.Service, log *slog.Logger) *KMS { return &KMS{svc: svc, log: log} }

// GenerateDataKey implements the RPC.
func (k *KMS) GenerateDataKey(ctx context.Context, r *keyvaultv1.GenerateDataKeyRequest) (*keyvaultv1.GenerateDataKeyResponse, error) {
	dk, err := k.svc.GenerateDataKey(ctx, actor(ctx), r.GetEncryptionContext())
	if err != nil {
		return nil, toStatus(ctx, k.log, err)
	}
	return &keyvaultv1.GenerateDataKeyResponse{Plaintext: dk.Plaintext, CiphertextBlob: dk.Wrapped, KeyId: dk.KeyID}, nil
}

// Decrypt implements the RPC.
func (k *KMS) Decrypt(ctx context.Context, r *keyvaultv1.DecryptRequest) (*keyvaultv1.DecryptResponse, error) {
	pt, id, err := k.svc.Decrypt(ctx, actor(ctx), r.GetCiphertextBlob(), r.GetEncryptionContext())
	if err != nil {
		return nil, toStatus(ctx, k.log, err)
	}
	return &keyvaultv1.DecryptResponse{Plaintext: pt, KeyId: id}, nil
}

// ReEncrypt implements the RPC.
func (k *KMS) ReEncrypt(ctx context.Context, r *keyvaultv1.ReEncryptRequest) (*keyvaultv1.ReEncryptResponse, error) {
	blob, id, src, err := k.svc.ReEncrypt(ctx, actor(ctx), r.GetCiphertextBlob(), r.GetSourceEncryptionContext(), r.GetDestinationEncryptionContext())
	if err != nil {
		return nil, toStatus(ctx, k.log, err)
	}
	return &keyvaultv1.ReEncryptResponse{CiphertextBlob: blob, KeyId: id, SourceKeyId: src}, nil
}

// RotateKey implements the RPC.
func (k *KMS) RotateKey(ctx context.Context, _ *keyvaultv1.RotateKeyRequest) (*keyvaultv1.RotateKeyResponse, error) {
	id, err := k.svc.RotateKey(ctx, actor(ctx))
	if err != nil {
		return nil, toStatus(ctx, k.log, err)
	}
	return &keyvaultv1.RotateKeyResponse{KeyId: id}, nil
}

// Observer lists secret metadata for dashboards: vault.Service (the SQL
// store) or the awssm backend (AWS ListSecrets).
type Observer interface {
	Observe(ctx context.Context, a vault.Actor, prefix string) ([]vault.Metadata, error)
	DaysUntilRotation(m vault.Metadata) (int32, bool)
}

// Observability implements keyvaultv1.ObservabilityServiceServer.
type Observability struct {
	keyvaultv1.UnimplementedObservabilityServiceServer
	svc Observer
	log *slog.Logger
}

// NewObservability returns the ObservabilityService handlers.
func NewObservability(svc Observer, log *slog.Logger) *Observability {
	return &Observability{svc: svc, log: log}
}

// ListSecretsObservability implements the RPC: metadata only, never values.
func (o *Observability) ListSecretsObservability(ctx context.Context, r *keyvaultv1.ListSecretsObservabilityRequest) (*keyvaultv1.ListSecretsObservabilityResponse, error) {
	ms, err := o.svc.Observe(ctx, actor(ctx), r.GetNamePrefix())
	if err != nil {
		return nil, toStatus(ctx, o.log, err)
	}
	out := &keyvaultv1.ListSecretsObservabilityResponse{}
	for _, m := range ms {
		ob := &keyvaultv1.SecretObservation{
			Name: m.Name, VersionCount: int32(m.VersionCount), Versions: versionsProto(m.Versions), //nolint:gosec // ≤ max versions
			CreatedAt: ts(m.CreatedAt), LastChangedAt: ts(m.LastChangedAt), LastAccessedAt: ts(m.LastAccessedAt),
			LastRotatedAt: ts(m.LastRotatedAt), NextRotationAt: ts(m.NextRotationAt),
			RotationStatus: keyvaultv1.RotationStatus(m.RotationStatus), //nolint:gosec // small enum
			RotationError:  m.RotationError, DeletedAt: ts(m.DeletedAt),
		}
		if d, ok := o.svc.DaysUntilRotation(m); ok {
			ob.DaysUntilRotation = &d
		}
		out.Secrets = append(out.Secrets, ob)
	}
	return out, nil
}
