package vault

import (
	"context"
	"errors"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Version stages (staging labels) follow AWS Secrets Manager's rules:
// AWSCURRENT is on exactly one version and moving it puts AWSPREVIOUS on
// the version it left; a label is moved by naming the version it leaves;
// AWSCURRENT is never removed, only moved; AWSPENDING belongs to a running
// rotation's version.

// attachStages puts stages on versionID; moving AWSCURRENT marks the
// version it leaves AWSPREVIOUS.
func (s *Service) attachStages(ctx context.Context, tx *store.Tx, sec *store.Secret, versionID string, stages []string) error {
	cur, err := tx.Stages(ctx, sec.TenantID, sec.ID)
	if err != nil {
		return internal(err)
	}
	for _, st := range stages {
		if st == StageCurrent {
			if prev := cur[StageCurrent]; prev != "" && prev != versionID {
				if err := tx.SetStage(ctx, sec.TenantID, sec.ID, StagePrevious, prev); err != nil {
					return internal(err)
				}
			}
		}
		if err := tx.SetStage(ctx, sec.TenantID, sec.ID, st, versionID); err != nil {
			return internal(err)
		}
	}
	return nil
}

// UpdateSecretVersionStage moves or removes a label following AWS's rules.
func (s *Service) UpdateSecretVersionStage(ctx context.Context, a Actor, name, stage, moveTo, removeFrom string) error {
	name, err := s.authorizeName(ctx, a, policy.ActionWrite, name)
	if err != nil {
		return err
	}
	err = func() error {
		if err := validStage("version_stage", stage); err != nil {
			return err
		}
		if moveTo == "" && removeFrom == "" {
			return invalid("move_to_version_id", "move_to_version_id or remove_from_version_id is required")
		}
		return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
			sec, err := s.secretFor(ctx, tx, a, policy.ActionWrite, name)
			if err != nil {
				return err
			}
			if err := liveSecret(sec); err != nil {
				return err
			}
			stages, err := tx.Stages(ctx, a.Tenant, sec.ID)
			if err != nil {
				return internal(err)
			}
			cur := stages[stage]
			if removeFrom != "" && cur != removeFrom {
				if _, err := tx.Version(ctx, a.Tenant, sec.ID, removeFrom); errors.Is(err, store.ErrNotFound) {
					return notFound("version %q of secret %q not found", removeFrom, name)
				}
				return invalid("remove_from_version_id", "label %s is not attached to version %s", stage, removeFrom)
			}
			if moveTo == "" {
				if stage == StageCurrent {
					return invalid("version_stage", "AWSCURRENT can only be moved to another version, not removed")
				}
				if err := tx.RemoveStage(ctx, a.Tenant, sec.ID, stage); err != nil {
					return internal(err)
				}
			} else {
				if _, err := tx.Version(ctx, a.Tenant, sec.ID, moveTo); errors.Is(err, store.ErrNotFound) {
					return notFound("version %q of secret %q not found", moveTo, name)
				} else if err != nil {
					return internal(err)
				}
				if cur != "" && cur != moveTo && removeFrom == "" {
					return invalid("remove_from_version_id", "label %s is attached to version %s; name it to move the label", stage, cur)
				}
				if cur != moveTo {
					if err := s.attachStages(ctx, tx, &sec, moveTo, []string{stage}); err != nil {
						return err
					}
				}
			}
			if stage == StagePending && sec.RotationVersionID != "" && moveTo != sec.RotationVersionID {
				return precondition("a rotation is in progress; cancel it first")
			}
			sec.LastChangedAt = s.now()
			if err := tx.UpdateSecret(ctx, sec); err != nil {
				return internal(err)
			}
			return s.record(ctx, a, audit.Record{Action: "UpdateSecretVersionStage", Name: name, VersionID: moveTo,
				Stages: []string{stage}, Result: audit.ResultOK, Detail: "from " + cur})
		})
	}()
	if err != nil {
		return s.auditFailure(ctx, a, "UpdateSecretVersionStage", name, err)
	}
	return nil
}
