package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Rotation steps: the proto enum itself (persisted as its number), so the
// stored step, the API's rotation_step and the state machine in runStep
// cannot drift apart.
const (
	StepCreate = keyvaultv1.RotationStep_ROTATION_STEP_CREATE_SECRET
	StepSet    = keyvaultv1.RotationStep_ROTATION_STEP_SET_SECRET
	StepTest   = keyvaultv1.RotationStep_ROTATION_STEP_TEST_SECRET
	StepFinish = keyvaultv1.RotationStep_ROTATION_STEP_FINISH_SECRET
)

// StepNames are the AWS step names, also used by the crash test hook.
var StepNames = map[keyvaultv1.RotationStep]string{StepCreate: "createSecret", StepSet: "setSecret", StepTest: "testSecret", StepFinish: "finishSecret"}

// RotateInput is a RotateSecret request.
type RotateInput struct {
	Name              string
	Token             string
	Function          *rotation.Config
	Schedule          string
	RotateImmediately bool
}

// RotateOutput reports the rotation.
type RotateOutput struct {
	Name, VersionID string
	Status          int
	Error           string
}

// RotateSecret configures rotation and, when asked, runs one now through
// the four steps. A second rotation while one is in progress is
// FailedPrecondition; the same token again is idempotent.
func (s *Service) RotateSecret(ctx context.Context, a Actor, in RotateInput) (RotateOutput, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionRotate, in.Name)
	if err != nil {
		return RotateOutput{}, err
	}
	out, err := s.rotateSecret(ctx, a, name, in)
	if err != nil {
		return out, s.auditFailure(ctx, a, "RotateSecret", name, err)
	}
	return out, nil
}

func (s *Service) rotateSecret(ctx context.Context, a Actor, name string, in RotateInput) (RotateOutput, error) {
	if err := validToken(in.Token); err != nil {
		return RotateOutput{}, err
	}
	var sched rotation.Schedule
	if in.Schedule != "" {
		var err error
		if sched, err = rotation.ParseSchedule(in.Schedule); err != nil {
			return RotateOutput{}, invalid("rotation_rules.schedule_expression", "%v", err)
		}
	}
	if in.Function != nil {
		if err := in.Function.Validate(s.o.WebhookAllow); err != nil {
			return RotateOutput{}, invalid("rotation_function", "%v", err)
		}
	}
	var sec store.Secret
	started := false
	err := s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		sec, started, err = s.configureRotation(ctx, tx, a, name, in, sched)
		return err
	})
	if err != nil {
		return RotateOutput{}, err
	}
	vid := sec.RotationVersionID
	if vid == "" {
		vid = in.Token
	}
	out := RotateOutput{Name: name, VersionID: vid, Status: s.rotationStatus(sec)}
	if started || (sec.RotationVersionID != "" && sec.RotationVersionID == in.Token) {
		st, msg, err := s.runRotation(ctx, sec.TenantID, sec.ID)
		if err != nil {
			return out, err
		}
		out.Status, out.Error = st, msg
	}
	return out, nil
}

// configureRotation stores the rotation function and schedule of the secret
// and, with RotateImmediately, starts a rotation at createSecret (started).
// A retry of the running rotation or of a completed one (same token)
// changes nothing.
func (s *Service) configureRotation(ctx context.Context, tx *store.Tx, a Actor, name string, in RotateInput, sched rotation.Schedule) (store.Secret, bool, error) {
	sec, err := s.secretFor(ctx, tx, a, policy.ActionRotate, name)
	if err != nil {
		return sec, false, err
	}
	if err := liveSecret(sec); err != nil {
		return sec, false, err
	}
	if sec.RotationVersionID != "" {
		if in.Token != "" && in.Token == sec.RotationVersionID {
			return sec, false, nil // retry of the running rotation: resume below
		}
		return sec, false, precondition("a rotation of %q is already in progress (version %s)", name, sec.RotationVersionID)
	}
	if in.Token != "" {
		if _, err := tx.Version(ctx, a.Tenant, sec.ID, in.Token); err == nil {
			return sec, false, nil // this rotation already completed
		}
	}
	if in.Function != nil {
		b, err := json.Marshal(in.Function)
		if err != nil {
			return sec, false, internal(err)
		}
		sec.RotationFunction = string(b)
	}
	if sec.RotationFunction == "" {
		return sec, false, invalid("rotation_function", "required: the secret has no rotation function yet")
	}
	if _, err := tx.VersionByStage(ctx, a.Tenant, sec.ID, StageCurrent); err != nil {
		return sec, false, precondition("secret %q has no AWSCURRENT version to rotate", name)
	}
	now := s.now()
	if sched != nil {
		sec.RotationSchedule, sec.RotationEnabled = sched.String(), true
		sec.NextRotationAt = sched.Next(now)
	}
	if in.RotateImmediately {
		sec.RotationVersionID = in.Token
		if sec.RotationVersionID == "" {
			sec.RotationVersionID = newID()
		}
		sec.RotationStep, sec.RotationError = StepCreate, ""
	}
	sec.LastChangedAt = now
	if err := tx.UpdateSecret(ctx, sec); err != nil {
		return sec, false, internal(err)
	}
	return sec, in.RotateImmediately, s.record(ctx, a, audit.Record{Action: "RotateSecret", Name: name, VersionID: sec.RotationVersionID,
		Result: audit.ResultOK, Detail: "schedule " + sec.RotationSchedule})
}

// runRotation drives the persisted rotation of one secret to its end:
// every step commits its progress, so after a crash it continues from the
// step that was running. A failing step ends the rotation with AWSCURRENT
// unchanged and the failure recorded.
//
// One replica drives a rotation at a time: the in-process lock orders this
// process's callers, and the database lease "rotation:<secret id>" (held
// for RotationLease, renewed at every step, released at the end) keeps
// other replicas from repeating a step's external call (webhook, auth). A
// replica that does not get the lease leaves the rotation to its holder and
// reports it as in progress.
func (s *Service) runRotation(ctx context.Context, tenant, secretID string) (int, string, error) {
	unlock := s.rotLock.lock(secretID)
	defer unlock()
	lease := &rotationLease{s: s, name: "rotation:" + secretID}
	defer lease.release(ctx)
	sys := Actor{Tenant: tenant, Caller: rotationCaller}
	for {
		sec, err := s.o.Store.Read().SecretByID(ctx, tenant, secretID)
		if err != nil {
			return 0, "", internal(err)
		}
		if sec.RotationVersionID == "" {
			return s.rotationStatus(sec), sec.RotationError, nil
		}
		ok, err := lease.renew(ctx, sec.Name)
		if err != nil {
			return 0, "", internal(err)
		}
		if !ok {
			return s.rotationStatus(sec), "", nil
		}
		fn, in, end := s.prepareStep(ctx, sys, sec)
		if end == nil {
			end = s.runStep(ctx, sys, sec, fn, in)
		}
		if end != nil {
			return end.status, end.msg, end.err
		}
	}
}

// rotationEnd is how a rotation run stops before the rotation is over: a
// failure recorded on the secret (status and message), or an error for the
// caller.
type rotationEnd struct {
	status int
	msg    string
	err    error
}

func endWith(status int, msg string, err error) *rotationEnd {
	return &rotationEnd{status: status, msg: msg, err: err}
}

// rotationLease is the database lease "rotation:<secret id>" a replica
// holds while it drives a rotation.
type rotationLease struct {
	s    *Service
	name string
	held bool
}

// renew takes or extends the lease for RotationLease; false means another
// replica holds it.
func (l *rotationLease) renew(ctx context.Context, secretName string) (bool, error) {
	now := l.s.now()
	ok, err := l.s.o.Store.TryLease(ctx, l.name, l.s.o.Replica, now, now.Add(RotationLease))
	if err != nil {
		return false, err
	}
	if !ok && l.held {
		// Lost the lease mid-rotation (a step outlived it): stop here; its
		// new holder continues from the committed step.
		l.s.log.WarnContext(ctx, "rotation lease lost; another replica continues", "secret", secretName)
	}
	l.held = ok
	return ok, nil
}

// release gives the lease up early; it expires anyway.
func (l *rotationLease) release(ctx context.Context) {
	if !l.held {
		return
	}
	if err := l.s.o.Store.ReleaseLease(context.WithoutCancel(ctx), l.name, l.s.o.Replica); err != nil {
		l.s.log.WarnContext(ctx, "release rotation lease", "err", err)
	}
}

// prepareStep builds the secret's rotation function and the step's input:
// the AWSCURRENT value when there is one and, after createSecret, the
// pending value.
func (s *Service) prepareStep(ctx context.Context, sys Actor, sec store.Secret) (rotation.Function, rotation.Input, *rotationEnd) {
	var cfg rotation.Config
	if err := json.Unmarshal([]byte(sec.RotationFunction), &cfg); err != nil {
		return nil, rotation.Input{}, endWith(0, "", internal(fmt.Errorf("rotation function config: %w", err)))
	}
	// The configuration is checked again on every run, against the
	// current WEBHOOK_ALLOW: a hook the operator took off the list since
	// the rotation was set up gets no more values (ADR 0064).
	if err := cfg.Validate(s.o.WebhookAllow); err != nil {
		return nil, rotation.Input{}, endWith(s.failed(ctx, sec, err))
	}
	fn, err := rotation.New(cfg, rotation.Deps{HTTP: s.o.HTTPClient, Keys: s.o.KeyAuthority})
	if err != nil {
		return nil, rotation.Input{}, endWith(s.failed(ctx, sec, err))
	}
	in := rotation.Input{Tenant: sec.TenantID, Name: sec.Name, VersionID: sec.RotationVersionID}
	if cur, err := s.getValue(ctx, sys, sec.Name, "", StageCurrent); err == nil {
		in.Current = cur.Value.bytes()
	}
	if sec.RotationStep > StepCreate {
		p, err := s.getValue(ctx, sys, sec.Name, sec.RotationVersionID, "")
		if err != nil {
			return nil, rotation.Input{}, endWith(0, "", s.failRotation(ctx, sec, fmt.Errorf("pending version unreadable: %w", err)))
		}
		in.Pending = p.Value.bytes()
	}
	return fn, in, nil
}

// runStep runs the secret's current step and commits the next one; nil
// means the loop goes on with the next step.
func (s *Service) runStep(ctx context.Context, sys Actor, sec store.Secret, fn rotation.Function, in rotation.Input) *rotationEnd {
	var err error
	switch sec.RotationStep {
	case StepCreate:
		val, cerr := fn.CreateSecret(ctx, in)
		if cerr != nil {
			return endWith(s.failed(ctx, sec, cerr))
		}
		err = s.commitCreated(ctx, sec, val)
	case StepSet:
		if err := fn.SetSecret(ctx, in); err != nil {
			return endWith(s.failed(ctx, sec, err))
		}
		crashHook(StepSet)
		err = s.advance(ctx, sec, StepTest)
	case StepTest:
		if err := fn.TestSecret(ctx, in); err != nil {
			return endWith(s.failed(ctx, sec, err))
		}
		crashHook(StepTest)
		err = s.advance(ctx, sec, StepFinish)
	case StepFinish:
		if err = s.commitFinished(ctx, sys, sec); err == nil {
			s.o.Metrics.rotation("success")
		}
	default:
		return endWith(s.failed(ctx, sec, fmt.Errorf("unknown rotation step %d", sec.RotationStep)))
	}
	if err != nil {
		return endWith(0, "", internal(err))
	}
	return nil
}

// commitCreated stores the created value as the AWSPENDING version and
// moves the rotation to setSecret, unless another run already did.
func (s *Service) commitCreated(ctx context.Context, sec store.Secret, val []byte) error {
	return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
		if err != nil || cur.RotationVersionID != sec.RotationVersionID || cur.RotationStep != StepCreate {
			return err
		}
		v := Value{String: string(val), ContentType: cur.ContentType}
		if cur.ContentType == ContentBinary {
			v = Value{Binary: val, IsBinary: true, ContentType: ContentBinary}
		}
		if _, _, err := s.putVersion(ctx, tx, &cur, v, cur.RotationVersionID, []string{StagePending}); err != nil {
			return err
		}
		cur.RotationStep = StepSet
		if err := tx.UpdateSecret(ctx, cur); err != nil {
			return internal(err)
		}
		crashHook(StepCreate)
		return nil
	})
}

// commitFinished makes the pending version AWSCURRENT, schedules the next
// rotation and clears the rotation state, unless another run already did.
func (s *Service) commitFinished(ctx context.Context, sys Actor, sec store.Secret) error {
	return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
		if err != nil || cur.RotationVersionID != sec.RotationVersionID || cur.RotationStep != StepFinish {
			return err
		}
		if err := s.attachStages(ctx, tx, &cur, cur.RotationVersionID, []string{StageCurrent}); err != nil {
			return err
		}
		if err := tx.RemoveStage(ctx, sec.TenantID, sec.ID, StagePending); err != nil {
			return internal(err)
		}
		now := s.now()
		cur.LastRotatedAt, cur.LastChangedAt = now, now
		if cur.RotationEnabled {
			s.scheduleNext(ctx, &cur, now)
		}
		vid := cur.RotationVersionID
		cur.RotationVersionID, cur.RotationStep, cur.RotationError, cur.RotationFailures = "", 0, "", 0
		if err := tx.UpdateSecret(ctx, cur); err != nil {
			return internal(err)
		}
		if err := s.record(ctx, sys, audit.Record{Action: "RotationFinished", Name: cur.Name, VersionID: vid, Result: audit.ResultOK}); err != nil {
			return err
		}
		crashHook(StepFinish)
		return nil
	})
}

// scheduleNext sets the next rotation time after a finished rotation. A
// schedule stored under older, laxer rules (e.g. a 5-field cron) must not
// leave a past due time behind: the scheduler would rotate again at every
// tick, so it turns automatic rotation off instead.
func (s *Service) scheduleNext(ctx context.Context, cur *store.Secret, now time.Time) {
	sch, err := rotation.ParseSchedule(cur.RotationSchedule)
	if err != nil {
		cur.RotationEnabled, cur.NextRotationAt = false, time.Time{}
		s.log.WarnContext(ctx, "stored rotation schedule is no longer valid; automatic rotation disabled",
			"secret_id", cur.ID, "err", err)
		return
	}
	cur.NextRotationAt = sch.Next(now)
}

func (s *Service) advance(ctx context.Context, sec store.Secret, next keyvaultv1.RotationStep) error {
	return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
		if err != nil || cur.RotationVersionID != sec.RotationVersionID || cur.RotationStep != sec.RotationStep {
			return err
		}
		cur.RotationStep = next
		return tx.UpdateSecret(ctx, cur)
	})
}

func (s *Service) failed(ctx context.Context, sec store.Secret, cause error) (int, string, error) {
	if err := s.failRotation(ctx, sec, cause); err != nil {
		return 0, "", err
	}
	return RotationFailed, cause.Error(), nil
}

// failRotation ends a rotation: AWSCURRENT stays, the pending version loses
// AWSPENDING, the error is kept and the next attempt backs off
// exponentially (1 h, 2 h, 4 h ... capped at 24 h).
func (s *Service) failRotation(ctx context.Context, sec store.Secret, cause error) error {
	s.o.Metrics.rotation("failure")
	s.log.WarnContext(ctx, "rotation failed", "secret", sec.Name, "step", StepNames[sec.RotationStep], "err", cause)
	return s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
		if err != nil {
			return internal(err)
		}
		if cur.RotationVersionID == "" {
			return nil
		}
		stages, err := tx.Stages(ctx, cur.TenantID, cur.ID)
		if err != nil {
			return internal(err)
		}
		if stages[StagePending] == cur.RotationVersionID {
			if err := tx.RemoveStage(ctx, cur.TenantID, cur.ID, StagePending); err != nil {
				return internal(err)
			}
		}
		msg := fmt.Sprintf("%s failed: %v", StepNames[cur.RotationStep], cause)
		cur.RotationVersionID, cur.RotationStep, cur.RotationError = "", 0, msg
		cur.RotationFailures++
		if cur.RotationEnabled {
			backoff := time.Duration(math.Min(math.Pow(2, float64(cur.RotationFailures-1)), 24)) * time.Hour
			cur.NextRotationAt = s.now().Add(backoff)
		}
		if err := tx.UpdateSecret(ctx, cur); err != nil {
			return internal(err)
		}
		return s.record(ctx, Actor{Tenant: cur.TenantID, Caller: "keyvault/rotation"},
			audit.Record{Action: "RotationFailed", Name: cur.Name, Result: audit.ResultError, Detail: msg})
	})
}

// RotationLease is how long a replica may drive a rotation step before
// another replica may take the rotation over.
const RotationLease = 5 * time.Minute

// ResumeRotations finishes every rotation left in progress (after a crash)
// whose lease is free or this replica's; it runs at start and on every
// scheduler tick, so a rotation orphaned by a replica that died is taken
// over once its lease expires.
func (s *Service) ResumeRotations(ctx context.Context) error {
	secs, err := s.o.Store.Read().InProgressRotations(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, sec := range secs {
		s.log.InfoContext(ctx, "resuming rotation", "secret", sec.Name, "step", StepNames[sec.RotationStep])
		if _, _, err := s.runRotation(ctx, sec.TenantID, sec.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunDueRotations starts every scheduled rotation that is due.
func (s *Service) RunDueRotations(ctx context.Context) (int, error) {
	due, err := s.o.Store.Read().DueRotations(ctx, s.now(), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sec := range due {
		err := s.o.Store.InTx(ctx, func(tx *store.Tx) error {
			cur, err := tx.SecretByID(ctx, sec.TenantID, sec.ID)
			if err != nil || cur.RotationVersionID != "" {
				return err
			}
			cur.RotationVersionID, cur.RotationStep = newID(), StepCreate
			return tx.UpdateSecret(ctx, cur)
		})
		if err != nil {
			return n, err
		}
		if _, _, err := s.runRotation(ctx, sec.TenantID, sec.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CancelRotateSecret abandons a running rotation and disables the schedule.
func (s *Service) CancelRotateSecret(ctx context.Context, a Actor, name string) (string, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionRotate, name)
	if err != nil {
		return "", err
	}
	var vid string
	err = s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := s.secretFor(ctx, tx, a, policy.ActionRotate, name)
		if err != nil {
			return err
		}
		if !sec.RotationEnabled && sec.RotationVersionID == "" {
			return precondition("secret %q has no rotation configured or in progress", name)
		}
		vid = sec.RotationVersionID
		if vid != "" {
			stages, err := tx.Stages(ctx, a.Tenant, sec.ID)
			if err != nil {
				return internal(err)
			}
			if stages[StagePending] == vid {
				if err := tx.RemoveStage(ctx, a.Tenant, sec.ID, StagePending); err != nil {
					return internal(err)
				}
			}
		}
		sec.RotationVersionID, sec.RotationStep, sec.RotationEnabled, sec.NextRotationAt = "", 0, false, time.Time{}
		sec.LastChangedAt = s.now()
		if err := tx.UpdateSecret(ctx, sec); err != nil {
			return internal(err)
		}
		return s.record(ctx, a, audit.Record{Action: "CancelRotateSecret", Name: name, VersionID: vid, Result: audit.ResultOK})
	})
	if err != nil {
		return "", s.auditFailure(ctx, a, "CancelRotateSecret", name, err)
	}
	return vid, nil
}

// RollbackSecret moves AWSCURRENT back to the AWSPREVIOUS version (which
// in turn becomes AWSPREVIOUS).
func (s *Service) RollbackSecret(ctx context.Context, a Actor, name string) (string, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionRotate, name)
	if err != nil {
		return "", err
	}
	var vid string
	err = s.o.Store.InTx(ctx, func(tx *store.Tx) error {
		sec, err := s.secretFor(ctx, tx, a, policy.ActionRotate, name)
		if err != nil {
			return err
		}
		if err := liveSecret(sec); err != nil {
			return err
		}
		if sec.RotationVersionID != "" {
			return precondition("a rotation is in progress; cancel it first")
		}
		stages, err := tx.Stages(ctx, a.Tenant, sec.ID)
		if err != nil {
			return internal(err)
		}
		vid = stages[StagePrevious]
		if vid == "" {
			return precondition("secret %q has no AWSPREVIOUS version to roll back to", name)
		}
		if err := s.attachStages(ctx, tx, &sec, vid, []string{StageCurrent}); err != nil {
			return err
		}
		sec.LastChangedAt = s.now()
		if err := tx.UpdateSecret(ctx, sec); err != nil {
			return internal(err)
		}
		return s.record(ctx, a, audit.Record{Action: "RollbackSecret", Name: name, VersionID: vid, Result: audit.ResultOK})
	})
	if err != nil {
		return "", s.auditFailure(ctx, a, "RollbackSecret", name, err)
	}
	return vid, nil
}
