package server

import (
	"context"
	"time"

	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

// SecretsBackend is what the SecretsService handlers call: the sql-backed
// *vault.Service, or the AWS Secrets Manager backend (internal/awssm).
type SecretsBackend interface {
	CreateSecret(ctx context.Context, a vault.Actor, in vault.CreateInput) (vault.CreateOutput, error)
	GetSecretValue(ctx context.Context, a vault.Actor, name, versionID, stage string) (vault.SecretValue, error)
	BatchGetSecretValue(ctx context.Context, a vault.Actor, names []string) ([]vault.BatchResult, error)
	PutSecretValue(ctx context.Context, a vault.Actor, name string, val vault.Value, token string, stages []string) (string, []string, error)
	UpdateSecret(ctx context.Context, a vault.Actor, in vault.UpdateInput) (string, error)
	DescribeSecret(ctx context.Context, a vault.Actor, name string) (vault.Metadata, error)
	ListSecrets(ctx context.Context, a vault.Actor, in vault.ListInput) ([]vault.Metadata, string, error)
	ListSecretVersionIds(ctx context.Context, a vault.Actor, name string, includeDeprecated bool, pageSize int, pageToken string) ([]vault.VersionInfo, string, error)
	UpdateSecretVersionStage(ctx context.Context, a vault.Actor, name, stage, moveTo, removeFrom string) error
	DeleteSecret(ctx context.Context, a vault.Actor, name string, windowDays int, force bool) (time.Time, error)
	RestoreSecret(ctx context.Context, a vault.Actor, name string) error
	TagResource(ctx context.Context, a vault.Actor, name string, tags []vault.Tag) error
	UntagResource(ctx context.Context, a vault.Actor, name string, keys []string) error
	RotateSecret(ctx context.Context, a vault.Actor, in vault.RotateInput) (vault.RotateOutput, error)
	CancelRotateSecret(ctx context.Context, a vault.Actor, name string) (string, error)
	RollbackSecret(ctx context.Context, a vault.Actor, name string) (string, error)
	DaysUntilRotation(m vault.Metadata) (int32, bool)
}

var _ SecretsBackend = (*vault.Service)(nil)
