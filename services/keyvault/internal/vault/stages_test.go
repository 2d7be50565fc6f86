package vault

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// The version-stage rules (stages.go) against a real SQLite store, local
// KMS and an audit sink that keeps what it is given.

const (
	stageTenant = "t_stages"
	stageSecret = "/dev/app/db/main"
	lockedName  = "/dev/locked/db/main" // the test policy refuses writes here
)

// denyLocked admits every request except writes under /dev/locked/.
type denyLocked struct{}

func (denyLocked) Allowed(r policy.Request) bool { return !strings.HasPrefix(r.Name, "/dev/locked/") }

// stageWorld is a service with one secret of three versions:
// v1 AWSPREVIOUS, v2 AWSCURRENT, v3 STAGED (a custom label).
type stageWorld struct {
	svc  *Service
	st   *store.Store
	now  time.Time
	secs map[string]string // version name (v1..v3) → id, and back
	mu   sync.Mutex
	recs []audit.Record
}

var edgeActor = Actor{Tenant: stageTenant, Caller: pki.ServiceID("edge"), Subject: "alice", Roles: []string{"owner"}, RequestID: "req-1"}

func newStageWorld(t *testing.T) *stageWorld {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	local, err := kms.OpenLocal(dir, st)
	require.NoError(t, err)
	w := &stageWorld{st: st, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), secs: map[string]string{}}
	w.svc = New(Options{
		Store: st, Envelope: kms.NewEnvelope(local, st), Hasher: audit.NewHasher([]byte("test-audit-key")), Policy: denyLocked{},
		Now: func() time.Time { return w.now },
		Audit: audit.Func(func(_ context.Context, r audit.Record) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.recs = append(w.recs, r)
			return nil
		}),
	})
	out, err := w.svc.CreateSecret(ctx, edgeActor, CreateInput{Name: stageSecret, Value: &Value{String: "one"}})
	require.NoError(t, err)
	w.name("v1", out.VersionID)
	v2, _, err := w.svc.PutSecretValue(ctx, edgeActor, stageSecret, Value{String: "two"}, "", nil)
	require.NoError(t, err)
	w.name("v2", v2)
	v3, _, err := w.svc.PutSecretValue(ctx, edgeActor, stageSecret, Value{String: "three"}, "", []string{"STAGED"})
	require.NoError(t, err)
	w.name("v3", v3)
	require.Equal(t, map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3"}, w.stages(t))
	return w
}

func (w *stageWorld) name(short, id string) { w.secs[short], w.secs[id] = id, short }

// id is the version id of a short name; an unknown short name is passed
// through (a version that does not exist).
func (w *stageWorld) id(short string) string {
	if id, ok := w.secs[short]; ok {
		return id
	}
	return short
}

func (w *stageWorld) secret(t *testing.T) store.Secret {
	t.Helper()
	sec, err := w.st.Read().SecretByName(t.Context(), stageTenant, stageSecret)
	require.NoError(t, err)
	return sec
}

// stages is the secret's label → short version name.
func (w *stageWorld) stages(t *testing.T) map[string]string {
	t.Helper()
	got, err := w.st.Read().Stages(t.Context(), stageTenant, w.secret(t).ID)
	require.NoError(t, err)
	out := map[string]string{}
	for stage, id := range got {
		out[stage] = w.secs[id]
	}
	return out
}

// attach puts stage on version directly (test set-up).
func (w *stageWorld) attach(t *testing.T, stage, version string) {
	t.Helper()
	require.NoError(t, w.st.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.SetStage(t.Context(), stageTenant, w.secret(t).ID, stage, w.id(version))
	}))
}

// rotating records a rotation in progress whose new version is version.
func (w *stageWorld) rotating(t *testing.T, version string) {
	t.Helper()
	sec := w.secret(t)
	sec.RotationVersionID = w.id(version)
	require.NoError(t, w.st.InTx(t.Context(), func(tx *store.Tx) error { return tx.UpdateSecret(t.Context(), sec) }))
}

func (w *stageWorld) lastAudit(t *testing.T) audit.Record {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.recs)
	return w.recs[len(w.recs)-1]
}

// TestUpdateSecretVersionStageTransitions: every move and removal the
// rules allow, with the labels afterwards, the audit record and the
// secret's last-changed time.
func TestUpdateSecretVersionStageTransitions(t *testing.T) {
	tests := []struct {
		name                      string
		setup                     func(t *testing.T, w *stageWorld)
		stage, moveTo, removeFrom string
		want                      map[string]string
	}{
		{name: "attach a new label", stage: "BLUE", moveTo: "v1",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3", "BLUE": "v1"}},
		{name: "move a custom label naming the version it leaves", stage: "STAGED", moveTo: "v1", removeFrom: "v3",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v1"}},
		{name: "remove a custom label", stage: "STAGED", removeFrom: "v3",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2"}},
		{name: "promote: AWSCURRENT moves, the version it leaves becomes AWSPREVIOUS", stage: StageCurrent, moveTo: "v3", removeFrom: "v2",
			want: map[string]string{StagePrevious: "v2", StageCurrent: "v3", "STAGED": "v3"}},
		{name: "roll back: AWSCURRENT to the AWSPREVIOUS version swaps the two", stage: StageCurrent, moveTo: "v1", removeFrom: "v2",
			want: map[string]string{StagePrevious: "v2", StageCurrent: "v1", "STAGED": "v3"}},
		{name: "move AWSPREVIOUS leaves AWSCURRENT alone", stage: StagePrevious, moveTo: "v3", removeFrom: "v1",
			want: map[string]string{StagePrevious: "v3", StageCurrent: "v2", "STAGED": "v3"}},
		{name: "remove AWSPREVIOUS", stage: StagePrevious, removeFrom: "v1",
			want: map[string]string{StageCurrent: "v2", "STAGED": "v3"}},
		{name: "label already on the target is left there", stage: StageCurrent, moveTo: "v2",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3"}},
		{name: "label already on the target, named as the one it leaves", stage: StageCurrent, moveTo: "v2", removeFrom: "v2",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3"}},
		{name: "attach AWSPENDING without a rotation", stage: StagePending, moveTo: "v3",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3", StagePending: "v3"}},
		{name: "remove AWSPENDING without a rotation", setup: func(t *testing.T, w *stageWorld) { w.attach(t, StagePending, "v3") },
			stage: StagePending, removeFrom: "v3",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3"}},
		{name: "AWSPENDING on the rotation's own version during a rotation", setup: func(t *testing.T, w *stageWorld) {
			w.attach(t, StagePending, "v3")
			w.rotating(t, "v3")
		}, stage: StagePending, moveTo: "v3", removeFrom: "v3",
			want: map[string]string{StagePrevious: "v1", StageCurrent: "v2", "STAGED": "v3", StagePending: "v3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStageWorld(t)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			before := w.stages(t)[tt.stage]
			w.now = w.now.Add(time.Hour)
			err := w.svc.UpdateSecretVersionStage(t.Context(), edgeActor, stageSecret, tt.stage, w.id(tt.moveTo), w.id(tt.removeFrom))
			require.NoError(t, err)
			require.Equal(t, tt.want, w.stages(t))
			require.True(t, w.secret(t).LastChangedAt.Equal(w.now), "the secret's last change is now")

			rec := w.lastAudit(t)
			require.Equal(t, "UpdateSecretVersionStage", rec.Action)
			require.Equal(t, audit.ResultOK, rec.Result)
			require.Equal(t, stageSecret, rec.Name)
			require.Equal(t, []string{tt.stage}, rec.Stages)
			require.Equal(t, w.id(tt.moveTo), rec.VersionID)
			require.Equal(t, "from "+w.id(before), rec.Detail, "the record names the version the label was on")
			require.Equal(t, stageTenant, rec.Tenant)
			require.Equal(t, "req-1", rec.RequestID)
		})
	}
}

// TestUpdateSecretVersionStageErrors: every refusal, with its kind, the
// request field it names, its audit result, and no label changed.
func TestUpdateSecretVersionStageErrors(t *testing.T) {
	other := edgeActor
	other.Tenant = "t_other"
	noPrincipal := edgeActor
	noPrincipal.Tenant = ""
	tests := []struct {
		name                      string
		setup                     func(t *testing.T, w *stageWorld)
		actor                     *Actor
		secret                    string
		stage, moveTo, removeFrom string
		kind                      Kind
		field                     string   // for KindInvalid
		audits                    []string // "action result" of each audit record written
		sentinel                  error
		wantMsgContains           string
	}{
		{name: "name not in the /{env}/{service}/{type}/{name} shape", secret: "app/db", stage: "X", moveTo: "v1",
			kind: KindInvalid, field: "name", sentinel: grpcerr.ErrInvalidArgument},
		{name: "no principal", actor: &noPrincipal, stage: "X", moveTo: "v1",
			kind: KindPermissionDenied, sentinel: grpcerr.ErrPermissionDenied},
		{name: "the policy refuses the write", secret: lockedName, stage: "X", moveTo: "v1",
			kind: KindPermissionDenied, audits: []string{"write denied"}, sentinel: grpcerr.ErrPermissionDenied},
		{name: "empty label", stage: "", moveTo: "v1",
			kind: KindInvalid, field: "version_stage", audits: []string{"UpdateSecretVersionStage invalid"}, sentinel: grpcerr.ErrInvalidArgument},
		{name: "label with a slash", stage: "A/B", moveTo: "v1",
			kind: KindInvalid, field: "version_stage", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "label of 257 characters", stage: strings.Repeat("L", 257), moveTo: "v1",
			kind: KindInvalid, field: "version_stage", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "neither a version to move to nor one to remove from", stage: "STAGED",
			kind: KindInvalid, field: "move_to_version_id", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "unknown secret", secret: "/dev/app/db/missing", stage: "STAGED", moveTo: "v1",
			kind: KindNotFound, audits: []string{"UpdateSecretVersionStage not_found"}, sentinel: grpcerr.ErrNotFound},
		{name: "another tenant's secret is not found", actor: &other, stage: "STAGED", moveTo: "v1",
			kind: KindNotFound, audits: []string{"UpdateSecretVersionStage not_found"}, sentinel: grpcerr.ErrNotFound},
		{name: "a service's own secret, changed by another caller", setup: func(t *testing.T, w *stageWorld) {
			owner := edgeActor
			owner.Caller = pki.ServiceID("slackadapter")
			_, err := w.svc.CreateSecret(t.Context(), owner, CreateInput{Name: "/dev/app/db/owned", Value: &Value{String: "x"}})
			require.NoError(t, err)
		}, secret: "/dev/app/db/owned", stage: "STAGED", moveTo: "v1",
			kind: KindPermissionDenied, audits: []string{"write denied", "UpdateSecretVersionStage denied"}, sentinel: grpcerr.ErrPermissionDenied},
		{name: "secret scheduled for deletion", setup: func(t *testing.T, w *stageWorld) {
			_, err := w.svc.DeleteSecret(t.Context(), edgeActor, stageSecret, 7, false)
			require.NoError(t, err)
		}, stage: "STAGED", moveTo: "v1", removeFrom: "v3",
			kind: KindFailedPrecondition, audits: []string{"UpdateSecretVersionStage invalid"}, sentinel: grpcerr.ErrFailedPrecondition},
		{name: "remove from a version that does not exist", stage: "STAGED", removeFrom: "no-such-version",
			kind: KindNotFound, audits: []string{"UpdateSecretVersionStage not_found"}},
		{name: "remove from a version the label is not on", stage: "STAGED", removeFrom: "v1",
			kind: KindInvalid, field: "remove_from_version_id", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "remove a label that is on no version", stage: "BLUE", removeFrom: "v1",
			kind: KindInvalid, field: "remove_from_version_id", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "move to a version that does not exist", stage: "STAGED", moveTo: "no-such-version", removeFrom: "v3",
			kind: KindNotFound, audits: []string{"UpdateSecretVersionStage not_found"}},
		{name: "move a label without naming the version it leaves", stage: "STAGED", moveTo: "v1",
			kind: KindInvalid, field: "remove_from_version_id", audits: []string{"UpdateSecretVersionStage invalid"}, wantMsgContains: "attached to version"},
		{name: "move AWSCURRENT without naming the version it leaves", stage: StageCurrent, moveTo: "v3",
			kind: KindInvalid, field: "remove_from_version_id", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "AWSCURRENT is never removed, only moved", stage: StageCurrent, removeFrom: "v2",
			kind: KindInvalid, field: "version_stage", audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "AWSPENDING moved off a running rotation's version", setup: func(t *testing.T, w *stageWorld) {
			w.attach(t, StagePending, "v3")
			w.rotating(t, "v3")
		}, stage: StagePending, moveTo: "v1", removeFrom: "v3",
			kind: KindFailedPrecondition, audits: []string{"UpdateSecretVersionStage invalid"}, sentinel: grpcerr.ErrFailedPrecondition, wantMsgContains: "rotation is in progress"},
		{name: "AWSPENDING removed during a rotation", setup: func(t *testing.T, w *stageWorld) {
			w.attach(t, StagePending, "v3")
			w.rotating(t, "v3")
		}, stage: StagePending, removeFrom: "v3",
			kind: KindFailedPrecondition, audits: []string{"UpdateSecretVersionStage invalid"}},
		{name: "AWSPENDING attached elsewhere during a rotation", setup: func(t *testing.T, w *stageWorld) { w.rotating(t, "v3") },
			stage: StagePending, moveTo: "v1",
			kind: KindFailedPrecondition, audits: []string{"UpdateSecretVersionStage invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStageWorld(t)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			a := edgeActor
			if tt.actor != nil {
				a = *tt.actor
			}
			name := stageSecret
			if tt.secret != "" {
				name = tt.secret
			}
			before, changed := w.stages(t), w.secret(t).LastChangedAt
			w.mu.Lock()
			nrecs := len(w.recs)
			w.mu.Unlock()
			w.now = w.now.Add(time.Hour)

			err := w.svc.UpdateSecretVersionStage(t.Context(), a, name, tt.stage, w.id(tt.moveTo), w.id(tt.removeFrom))
			require.Error(t, err)
			var verr *Error
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tt.kind, verr.Kind, verr.Error())
			field, _ := verr.InvalidField()
			require.Equal(t, tt.field, field)
			if tt.sentinel != nil {
				require.ErrorIs(t, err, tt.sentinel)
			}
			if tt.wantMsgContains != "" {
				require.Contains(t, verr.Msg, tt.wantMsgContains)
			}
			require.Equal(t, before, w.stages(t), "no label changed")
			require.True(t, w.secret(t).LastChangedAt.Equal(changed), "the secret is unchanged")

			w.mu.Lock()
			recs := w.recs[nrecs:]
			w.mu.Unlock()
			var got []string
			for _, r := range recs {
				got = append(got, r.Action+" "+r.Result)
				require.Equal(t, a.Tenant, r.Tenant)
			}
			require.Equal(t, tt.audits, got)
		})
	}
}
