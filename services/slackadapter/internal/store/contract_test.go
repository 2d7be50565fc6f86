package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// opener opens another handle ("replica") on one fresh database.
type opener = func(t *testing.T) *store.Store

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestContract(t *testing.T) {
	cases := []pgtest.Case[*store.Store]{
		{Name: "event dedupe", Run: eventDedupe},
		{Name: "signed-request replay keys", Run: signatures},
		{Name: "purge expired", Run: purgeExpired},
		{Name: "bot threads", Run: botThreads},
		{Name: "installations", Run: installations},
		{Name: "installation moves only once disabled", Run: installationOwner},
		{Name: "tenant keys", Run: tenantKeys},
		{Name: "app", Run: app},
		{Name: "OAuth state", Run: oauthState},
		{Name: "bindings", Run: bindings},
		{Name: "installation policies", Run: policies},
		{Name: "policy updates keep concurrent writes", Run: policyUpdates},
		{Name: "stream cursors", Run: cursors},
		{Name: "purge tenant", Run: purgeTenant},
		{Name: "migrations are idempotent", Run: reopen},
		{Name: "two replicas: each single use happens once", Run: twoReplicas},
		{Name: "leases", Run: leases},
		{Name: "notice tokens go with their installation", Run: noticeTokens},
		{Name: "revoked tokens to delete", Run: tokenDeletions},
	}
	pgtest.RunContract(t, "slack", pgtest.Openers[*store.Store]{
		SQLite: func(ctx context.Context, dir string) (*store.Store, error) {
			return store.Open(ctx, filepath.Join(dir, "slackadapter.db"))
		},
		Postgres: func(ctx context.Context, url string) (*store.Store, error) {
			return store.OpenPostgres(ctx, url, pstore.DefaultPoolOptions)
		},
	}, cases)
}

func eventDedupe(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	fresh, err := s.MarkSeen(ctx, "T1", "Ev1", t0, time.Hour)
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = s.MarkSeen(ctx, "T1", "Ev1", t0.Add(time.Minute), time.Hour)
	require.NoError(t, err)
	require.False(t, fresh, "Slack's retry is a duplicate")
	fresh, err = s.MarkSeen(ctx, "T2", "Ev1", t0, time.Hour)
	require.NoError(t, err)
	require.True(t, fresh, "event ids are per team")

	// Expired marks count as new and are renewed.
	fresh, err = s.MarkSeen(ctx, "T1", "Ev1", t0.Add(time.Hour), time.Hour)
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = s.MarkSeen(ctx, "T1", "Ev1", t0.Add(90*time.Minute), time.Hour)
	require.NoError(t, err)
	require.False(t, fresh, "the renewed mark holds")

	// Forgotten (could not be queued): the retry is processed.
	require.NoError(t, s.ForgetSeen(ctx, "T1", "Ev1"))
	fresh, err = s.MarkSeen(ctx, "T1", "Ev1", t0.Add(91*time.Minute), time.Hour)
	require.NoError(t, err)
	require.True(t, fresh)
	require.NoError(t, s.ForgetSeen(ctx, "T9", "nope"), "forgetting nothing is fine")
}

// botThreads: the threads the bot answered in (ADR 0128) are per team,
// channel, thread and tenant; a mark expires, is renewed by marking again,
// is purged once expired and with its tenant, and is taken over by the
// tenant a workspace moved to.
func botThreads(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	in := func(tenant, team, channel, thread string, at time.Time) bool {
		t.Helper()
		ok, err := s.InBotThread(ctx, tenant, team, channel, thread, at)
		require.NoError(t, err)
		return ok
	}
	require.False(t, in("tn1", "T1", "C1", "100.1", t0), "no mark")
	require.NoError(t, s.MarkBotThread(ctx, "tn1", "T1", "C1", "100.1", t0.Add(time.Hour)))
	require.True(t, in("tn1", "T1", "C1", "100.1", t0))
	require.False(t, in("tn2", "T1", "C1", "100.1", t0), "another tenant's thread")
	require.False(t, in("tn1", "T2", "C1", "100.1", t0), "another team")
	require.False(t, in("tn1", "T1", "C2", "100.1", t0), "another channel")
	require.False(t, in("tn1", "T1", "C1", "100.2", t0), "another thread")
	require.False(t, in("tn1", "T1", "C1", "100.1", t0.Add(time.Hour)), "expired")

	// Renewed by another answer in the thread.
	require.NoError(t, s.MarkBotThread(ctx, "tn1", "T1", "C1", "100.1", t0.Add(3*time.Hour)))
	require.True(t, in("tn1", "T1", "C1", "100.1", t0.Add(2*time.Hour)))

	// Purged once expired, not before.
	require.NoError(t, s.MarkBotThread(ctx, "tn1", "T1", "C1", "200.1", t0.Add(time.Minute)))
	require.NoError(t, s.PurgeExpired(ctx, t0.Add(2*time.Minute)))
	require.False(t, in("tn1", "T1", "C1", "200.1", t0), "purged")
	require.True(t, in("tn1", "T1", "C1", "100.1", t0), "unexpired stays")

	// The workspace moved to tn2, which answered in the thread: tn1's mark is gone.
	require.NoError(t, s.MarkBotThread(ctx, "tn2", "T1", "C1", "100.1", t0.Add(time.Hour)))
	require.True(t, in("tn2", "T1", "C1", "100.1", t0))
	require.False(t, in("tn1", "T1", "C1", "100.1", t0))

	// Purged with its tenant only.
	require.NoError(t, s.MarkBotThread(ctx, "tn1", "T9", "C1", "300.1", t0.Add(time.Hour)))
	require.NoError(t, s.PurgeTenant(ctx, "tn2"))
	require.False(t, in("tn2", "T1", "C1", "100.1", t0))
	require.True(t, in("tn1", "T9", "C1", "300.1", t0))
}

func signatures(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	fresh, err := s.MarkSignature(ctx, "1700000000:v0=abc", t0.Add(5*time.Minute))
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = s.MarkSignature(ctx, "1700000000:v0=abc", t0.Add(5*time.Minute))
	require.NoError(t, err)
	require.False(t, fresh, "a replayed request is refused")
	fresh, err = s.MarkSignature(ctx, "1700000001:v0=abc", t0.Add(5*time.Minute))
	require.NoError(t, err)
	require.True(t, fresh, "another timestamp is another request")
}

func purgeExpired(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	_, err := s.MarkSeen(ctx, "T1", "old", t0, time.Minute)
	require.NoError(t, err)
	_, err = s.MarkSeen(ctx, "T1", "new", t0, time.Hour)
	require.NoError(t, err)
	_, err = s.MarkSignature(ctx, "old-sig", t0.Add(time.Minute))
	require.NoError(t, err)
	_, err = s.MarkSignature(ctx, "new-sig", t0.Add(time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.PutState(ctx, "old-state", "tn1", "", t0.Add(time.Minute)))
	require.NoError(t, s.PutState(ctx, "new-state", "tn1", "", t0.Add(time.Hour)))

	require.NoError(t, s.PurgeExpired(ctx, t0.Add(2*time.Minute)))

	// Purged signature keys are free again (their signature would no
	// longer verify anyway); unexpired ones still refuse.
	fresh, err := s.MarkSignature(ctx, "old-sig", t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, fresh)
	fresh, err = s.MarkSignature(ctx, "new-sig", t0.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, fresh)
	// The unexpired event mark is still there (a still-live mark at a
	// time before its expiry refuses).
	fresh, err = s.MarkSeen(ctx, "T1", "new", t0.Add(3*time.Minute), time.Hour)
	require.NoError(t, err)
	require.False(t, fresh)
	// The expired state is gone even for a clock that would accept it.
	_, err = s.PeekState(ctx, "old-state", t0)
	require.ErrorIs(t, err, store.ErrNotFound)
	tenant, err := s.PeekState(ctx, "new-state", t0)
	require.NoError(t, err)
	require.Equal(t, "tn1", tenant)
}

func inst(tenant, team string) store.Installation {
	return store.Installation{TeamID: team, EnterpriseID: "E1", TenantID: tenant, TeamName: "Team " + team,
		BotUserID: "U" + team, SecretName: "/dev/slackadapter/" + team, InstalledAt: t0}
}

func installations(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	_, err := s.InstallationByTeam(ctx, "T1", "")
	require.ErrorIs(t, err, store.ErrNotFound)

	a := inst("tn1", "T1")
	a.TokenExpiresAt = t0.Add(time.Hour)
	require.NoError(t, s.SaveInstallation(ctx, a))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T0")))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn2", "E1")))

	got, err := s.InstallationByTeam(ctx, "T1", "")
	require.NoError(t, err)
	require.Equal(t, a.TokenExpiresAt.Unix(), got.TokenExpiresAt.Unix())
	require.Equal(t, t0.Unix(), got.InstalledAt.Unix())
	got.TokenExpiresAt, got.InstalledAt = time.Time{}, time.Time{}
	want := a
	want.TokenExpiresAt, want.InstalledAt = time.Time{}, time.Time{}
	require.Equal(t, want, got)
	require.False(t, got.Disabled())

	// Enterprise Grid: an unknown team falls back to the org installation.
	org, err := s.InstallationByTeam(ctx, "T-unknown", "E1")
	require.NoError(t, err)
	require.Equal(t, "tn2", org.TenantID)
	_, err = s.InstallationByTeam(ctx, "T-unknown", "")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := s.ListInstallations(ctx, "tn1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{"T0", "T1"}, []string{list[0].TeamID, list[1].TeamID})
	list, err = s.ListInstallations(ctx, "tn-none")
	require.NoError(t, err)
	require.Empty(t, list)

	// Token expiry: set, cross-tenant refused, listed when due.
	require.NoError(t, s.SetTokenExpiry(ctx, "tn1", "T0", t0.Add(10*time.Minute)))
	require.ErrorIs(t, s.SetTokenExpiry(ctx, "tn2", "T0", t0), store.ErrNotFound)
	due, err := s.ExpiringInstallations(ctx, t0.Add(30*time.Minute))
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "T0", due[0].TeamID)
	due, err = s.ExpiringInstallations(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []string{"T0", "T1"}, []string{due[0].TeamID, due[1].TeamID}, "soonest first")

	// Disable: cross-tenant refused, first time kept, no longer due.
	require.ErrorIs(t, s.DisableInstallation(ctx, "tn2", "T1", t0), store.ErrNotFound)
	require.NoError(t, s.DisableInstallation(ctx, "tn1", "T1", t0.Add(time.Minute)))
	require.NoError(t, s.DisableInstallation(ctx, "tn1", "T1", t0.Add(time.Hour)))
	got, err = s.InstallationByTeam(ctx, "T1", "")
	require.NoError(t, err)
	require.True(t, got.Disabled())
	require.Equal(t, t0.Add(time.Minute).Unix(), got.DisabledAt.Unix())
	require.True(t, got.TokenExpiresAt.IsZero())
	due, err = s.ExpiringInstallations(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "T0", due[0].TeamID)

	// Reinstalling by the same tenant re-enables.
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T1")))
	got, err = s.InstallationByTeam(ctx, "T1", "")
	require.NoError(t, err)
	require.False(t, got.Disabled())
}

func installationOwner(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T1")))
	require.NoError(t, s.PutBinding(ctx, store.Binding{TeamID: "T1", TenantID: "tn1", Assistant: "a", UpdatedAt: t0}))

	require.ErrorIs(t, s.SaveInstallation(ctx, inst("tn2", "T1")), store.ErrTeamTaken, "a live workspace cannot move")
	got, err := s.InstallationByTeam(ctx, "T1", "")
	require.NoError(t, err)
	require.Equal(t, "tn1", got.TenantID)

	require.NoError(t, s.DisableInstallation(ctx, "tn1", "T1", t0))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn2", "T1")), "an uninstalled workspace may be installed by another tenant")
	got, err = s.InstallationByTeam(ctx, "T1", "")
	require.NoError(t, err)
	require.Equal(t, "tn2", got.TenantID)
	require.False(t, got.Disabled())
	bs, err := s.ListBindings(ctx, "tn1", "")
	require.NoError(t, err)
	require.Empty(t, bs, "the previous tenant's bindings went with its record")
}

func tenantKeys(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	_, err := s.TenantKey(ctx, "tn1")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.PutTenantKey(ctx, store.TenantKey{TenantID: "tn1", KeyID: "k1", Sealed: []byte{0, 1, 2, 255}}, t0))
	require.NoError(t, s.PutTenantKey(ctx, store.TenantKey{TenantID: "tn1", KeyID: "k2", Sealed: []byte{9, 0}}, t0))
	k, err := s.TenantKey(ctx, "tn1")
	require.NoError(t, err)
	require.Equal(t, store.TenantKey{TenantID: "tn1", KeyID: "k2", Sealed: []byte{9, 0}}, k)
	_, err = s.TenantKey(ctx, "tn2")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func app(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	_, err := s.App(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.PutApp(ctx, store.App{ClientID: "c1", Sealed: []byte("sealed-1"), UpdatedAt: t0}))
	require.NoError(t, s.PutApp(ctx, store.App{ClientID: "c2", Sealed: []byte{0, 255}, UpdatedAt: t0.Add(time.Hour)}))
	a, err := s.App(ctx)
	require.NoError(t, err)
	require.Equal(t, "c2", a.ClientID)
	require.Equal(t, []byte{0, 255}, a.Sealed)
	require.Equal(t, t0.Add(time.Hour).Unix(), a.UpdatedAt.Unix())
}

func oauthState(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	require.NoError(t, s.PutState(ctx, "n1", "tn1", "k1", t0.Add(10*time.Minute)))
	require.Error(t, s.PutState(ctx, "n1", "tn2", "", t0.Add(10*time.Minute)), "a nonce is recorded once")

	tenant, err := s.PeekState(ctx, "n1", t0)
	require.NoError(t, err)
	require.Equal(t, "tn1", tenant)
	_, err = s.PeekState(ctx, "n1", t0.Add(10*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	_, err = s.TakeState(ctx, "n1", t0.Add(10*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired states are not consumed")

	tenant, err = s.TakeState(ctx, "n1", t0)
	require.NoError(t, err)
	require.Equal(t, "tn1", tenant)
	_, err = s.TakeState(ctx, "n1", t0)
	require.ErrorIs(t, err, store.ErrNotFound, "single use")
	_, err = s.PeekState(ctx, "n1", t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The states asked for with a key go when that key is revoked or
	// changed (ADR 0118); others stay.
	require.NoError(t, s.PutState(ctx, "n2", "tn1", "k1", t0.Add(10*time.Minute)))
	require.NoError(t, s.PutState(ctx, "n3", "tn1", "k2", t0.Add(10*time.Minute)))
	require.NoError(t, s.PutState(ctx, "n4", "tn1", "", t0.Add(10*time.Minute)))
	n, err := s.DropStatesOfKey(ctx, "k1")
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = s.PeekState(ctx, "n2", t0)
	require.ErrorIs(t, err, store.ErrNotFound, "the dropped key's link")
	for _, nonce := range []string{"n3", "n4"} {
		_, err = s.PeekState(ctx, nonce, t0)
		require.NoError(t, err, nonce)
	}
	n, err = s.DropStatesOfKey(ctx, "")
	require.NoError(t, err)
	require.Zero(t, n, "no key names no state")
	_, err = s.TakeState(ctx, "never", t0)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// policies: a tenant's policy of its live workspace only; none set is the
// zero policy (nothing bindable, no external users); it goes with the
// tenant's purge and with a takeover of the workspace (ADR 0097).
func policies(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T1")))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn2", "T3")))
	zero, err := s.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.Equal(t, store.Policy{TeamID: "T1", TenantID: "tn1"}, zero)

	p := store.Policy{TeamID: "T1", TenantID: "tn1", BindableAssistants: []string{"kb-it"}, BindableCollections: []string{"handbook", "faq"},
		AllowExternalUsers: true, UpdatedBy: "rampart:u1", UpdatedAt: t0}
	require.NoError(t, s.PutPolicy(ctx, p))
	got, err := s.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.Equal(t, p.BindableAssistants, got.BindableAssistants)
	require.Equal(t, p.BindableCollections, got.BindableCollections)
	require.True(t, got.AllowExternalUsers)
	require.Equal(t, t0.Unix(), got.UpdatedAt.Unix())
	other, err := s.PolicyFor(ctx, "tn2", "T1")
	require.NoError(t, err)
	require.False(t, other.AllowExternalUsers, "another tenant reads none")
	require.Empty(t, other.BindableCollections)

	// Replaced whole.
	require.NoError(t, s.PutPolicy(ctx, store.Policy{TeamID: "T1", TenantID: "tn1", UpdatedAt: t0}))
	got, err = s.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.False(t, got.AllowExternalUsers)
	require.Empty(t, got.BindableAssistants)

	require.ErrorIs(t, s.PutPolicy(ctx, store.Policy{TeamID: "T3", TenantID: "tn1", UpdatedAt: t0}), store.ErrNotFound, "another tenant's workspace")
	require.ErrorIs(t, s.PutPolicy(ctx, store.Policy{TeamID: "T9", TenantID: "tn1", UpdatedAt: t0}), store.ErrNotFound)
	require.NoError(t, s.DisableInstallation(ctx, "tn2", "T3", t0))
	require.ErrorIs(t, s.PutPolicy(ctx, store.Policy{TeamID: "T3", TenantID: "tn2", UpdatedAt: t0}), store.ErrNotFound, "disabled")

	require.NoError(t, s.PutPolicy(ctx, store.Policy{TeamID: "T1", TenantID: "tn1", AllowExternalUsers: true, UpdatedAt: t0}))
	require.NoError(t, s.PurgeTenant(ctx, "tn1"))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T1")))
	got, err = s.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.False(t, got.AllowExternalUsers, "purged with the tenant")
}

// policyUpdates: UpdatePolicy's read-change-write loses no concurrent
// write, across replicas (ADR 0103); its change may refuse; it needs a
// live installation of the tenant; the etag follows the content.
func policyUpdates(ctx context.Context, t *testing.T, open opener) {
	a, b := open(t), open(t)
	require.NoError(t, a.SaveInstallation(ctx, inst("tn1", "T1")))
	require.NoError(t, a.SaveInstallation(ctx, inst("tn2", "T3")))
	zero, err := a.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)

	// Each writer adds its own collection to what it read: a lost update
	// would drop another's.
	const writers = 12
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			_, err := s.UpdatePolicy(ctx, "tn1", "T1", func(p store.Policy) (store.Policy, error) {
				p.BindableCollections = append(p.BindableCollections, fmt.Sprintf("c%02d", i))
				p.UpdatedAt = t0
				return p, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := b.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.Len(t, got.BindableCollections, writers, "no write lost: %v", got.BindableCollections)
	require.NotEqual(t, zero.Etag(), got.Etag())
	require.Equal(t, got.Etag(), store.Policy{TeamID: "T1", TenantID: "tn1", BindableCollections: got.BindableCollections,
		UpdatedBy: "someone else", UpdatedAt: t0.Add(time.Hour)}.Etag(), "the etag is the content's")
	require.NotEqual(t, got.Etag(), store.Policy{TeamID: "T1", TenantID: "tn2", BindableCollections: got.BindableCollections}.Etag(), "and the tenant's")

	refused := errors.New("refused")
	_, err = a.UpdatePolicy(ctx, "tn1", "T1", func(p store.Policy) (store.Policy, error) {
		if p.Etag() != zero.Etag() {
			return store.Policy{}, refused
		}
		return store.Policy{AllowExternalUsers: true}, nil
	})
	require.ErrorIs(t, err, refused)
	after, err := a.PolicyFor(ctx, "tn1", "T1")
	require.NoError(t, err)
	require.Equal(t, got.Etag(), after.Etag(), "a refused change writes nothing")

	keep := func(p store.Policy) (store.Policy, error) { return p, nil }
	_, err = a.UpdatePolicy(ctx, "tn1", "T3", keep)
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's workspace")
	_, err = a.UpdatePolicy(ctx, "tn1", "T9", keep)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, a.DisableInstallation(ctx, "tn1", "T1", t0))
	_, err = a.UpdatePolicy(ctx, "tn1", "T1", keep)
	require.ErrorIs(t, err, store.ErrNotFound, "disabled")
}

func bindings(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T1")))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn1", "T2")))
	require.NoError(t, s.SaveInstallation(ctx, inst("tn2", "T3")))

	ws := store.Binding{TeamID: "T1", TenantID: "tn1", Assistant: "helper", UpdatedBy: "u1", UpdatedAt: t0}
	ch := store.Binding{TeamID: "T1", ChannelID: "C1", TenantID: "tn1", Collections: []string{"col_a", "col_b"}, UpdatedBy: "u2", UpdatedAt: t0}
	require.NoError(t, s.PutBinding(ctx, ws))
	require.NoError(t, s.PutBinding(ctx, ch))
	require.NoError(t, s.PutBinding(ctx, store.Binding{TeamID: "T2", TenantID: "tn1", Assistant: "x", UpdatedAt: t0}))
	require.ErrorIs(t, s.PutBinding(ctx, store.Binding{TeamID: "T3", TenantID: "tn1", Assistant: "x", UpdatedAt: t0}),
		store.ErrNotFound, "another tenant's workspace")
	require.ErrorIs(t, s.PutBinding(ctx, store.Binding{TeamID: "T9", TenantID: "tn1", UpdatedAt: t0}), store.ErrNotFound)

	got, err := s.BindingFor(ctx, "tn1", "T1", "C1")
	require.NoError(t, err)
	require.Equal(t, []string{"col_a", "col_b"}, got.Collections)
	require.Equal(t, t0.Unix(), got.UpdatedAt.Unix())
	got, err = s.BindingFor(ctx, "tn1", "T1", "C-other")
	require.NoError(t, err)
	require.Equal(t, "helper", got.Assistant, "falls back to the workspace binding")
	require.Empty(t, got.Collections)
	_, err = s.BindingFor(ctx, "tn2", "T1", "C1")
	require.ErrorIs(t, err, store.ErrNotFound, "cross-tenant")

	// Replace.
	ch.Collections, ch.UpdatedAt = []string{"col_c"}, t0.Add(time.Hour)
	require.NoError(t, s.PutBinding(ctx, ch))
	got, err = s.BindingFor(ctx, "tn1", "T1", "C1")
	require.NoError(t, err)
	require.Equal(t, []string{"col_c"}, got.Collections)
	require.Equal(t, t0.Add(time.Hour).Unix(), got.UpdatedAt.Unix())

	all, err := s.ListBindings(ctx, "tn1", "")
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, [][2]string{{"T1", ""}, {"T1", "C1"}, {"T2", ""}},
		[][2]string{{all[0].TeamID, all[0].ChannelID}, {all[1].TeamID, all[1].ChannelID}, {all[2].TeamID, all[2].ChannelID}})
	one, err := s.ListBindings(ctx, "tn1", "T2")
	require.NoError(t, err)
	require.Len(t, one, 1)
	none, err := s.ListBindings(ctx, "tn2", "")
	require.NoError(t, err)
	require.Empty(t, none)

	// Bindings of a disabled installation cannot be set.
	require.NoError(t, s.DisableInstallation(ctx, "tn1", "T2", t0))
	require.ErrorIs(t, s.PutBinding(ctx, store.Binding{TeamID: "T2", TenantID: "tn1", UpdatedAt: t0}), store.ErrNotFound)

	require.ErrorIs(t, s.DeleteBinding(ctx, "tn2", "T1", "C1"), store.ErrNotFound, "cross-tenant")
	require.NoError(t, s.DeleteBinding(ctx, "tn1", "T1", "C1"))
	require.ErrorIs(t, s.DeleteBinding(ctx, "tn1", "T1", "C1"), store.ErrNotFound)
	got, err = s.BindingFor(ctx, "tn1", "T1", "C1")
	require.NoError(t, err)
	require.Equal(t, "helper", got.Assistant)
}

func cursors(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	c, err := s.Cursor(ctx, "tenant-events")
	require.NoError(t, err)
	require.Zero(t, c)
	require.NoError(t, s.SetCursor(ctx, "tenant-events", 42))
	require.NoError(t, s.SetCursor(ctx, "tenant-events", 1<<40))
	c, err = s.Cursor(ctx, "tenant-events")
	require.NoError(t, err)
	require.EqualValues(t, int64(1<<40), c)
	c, err = s.Cursor(ctx, "other")
	require.NoError(t, err)
	require.Zero(t, c)
}

func purgeTenant(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	for _, tn := range []string{"tn1", "tn2"} {
		team := "T-" + tn
		require.NoError(t, s.SaveInstallation(ctx, inst(tn, team)))
		require.NoError(t, s.PutBinding(ctx, store.Binding{TeamID: team, TenantID: tn, Assistant: "a", UpdatedAt: t0}))
		require.NoError(t, s.PutTenantKey(ctx, store.TenantKey{TenantID: tn, KeyID: "k", Sealed: []byte("s")}, t0))
		require.NoError(t, s.PutState(ctx, "n-"+tn, tn, "", t0.Add(time.Hour)))
	}
	require.NoError(t, s.PurgeTenant(ctx, "tn1"))
	require.NoError(t, s.PurgeTenant(ctx, "tn1"), "idempotent")

	_, err := s.InstallationByTeam(ctx, "T-tn1", "")
	require.ErrorIs(t, err, store.ErrNotFound)
	bs, err := s.ListBindings(ctx, "tn1", "")
	require.NoError(t, err)
	require.Empty(t, bs)
	_, err = s.TenantKey(ctx, "tn1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.PeekState(ctx, "n-tn1", t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	// The other tenant is untouched.
	_, err = s.InstallationByTeam(ctx, "T-tn2", "")
	require.NoError(t, err)
	bs, err = s.ListBindings(ctx, "tn2", "")
	require.NoError(t, err)
	require.Len(t, bs, 1)
	_, err = s.TenantKey(ctx, "tn2")
	require.NoError(t, err)
	_, err = s.PeekState(ctx, "n-tn2", t0)
	require.NoError(t, err)
	// The purged tenant's workspace is free for another tenant.
	require.NoError(t, s.SaveInstallation(ctx, inst("tn2", "T-tn1")))
}

// reopen: a second open of a migrated database migrates nothing and sees
// the data; Ping works.
func reopen(ctx context.Context, t *testing.T, open opener) {
	a := open(t)
	require.NoError(t, a.SetCursor(ctx, "c", 7))
	b := open(t)
	require.NoError(t, b.Ping(ctx))
	c, err := b.Cursor(ctx, "c")
	require.NoError(t, err)
	require.EqualValues(t, 7, c)
}

// twoReplicas: two handles on one database, many concurrent attempts each:
// an event id is processed once, a replayed slash command accepted once,
// an OAuth state consumed once, and a workspace installed by one tenant
// only.
func twoReplicas(ctx context.Context, t *testing.T, open opener) {
	replicas := []*store.Store{open(t), open(t)}
	require.NoError(t, replicas[0].PutState(ctx, "nonce", "tn1", "", t0.Add(10*time.Minute)))

	const n = 16
	var events, sigs, states, installs atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		s := replicas[i%2]
		wg.Go(func() {
			fresh, err := s.MarkSeen(ctx, "T1", "Ev-race", t0, time.Hour)
			if err != nil {
				t.Error("MarkSeen:", err)
			} else if fresh {
				events.Add(1)
			}
		})
		wg.Go(func() {
			fresh, err := s.MarkSignature(ctx, "1700000000:v0=race", t0.Add(5*time.Minute))
			if err != nil {
				t.Error("MarkSignature:", err)
			} else if fresh {
				sigs.Add(1)
			}
		})
		wg.Go(func() {
			tenant, err := s.TakeState(ctx, "nonce", t0)
			switch {
			case err == nil && tenant == "tn1":
				states.Add(1)
			case err == nil:
				t.Error("TakeState: wrong tenant", tenant)
			case !errorsIsNotFound(err):
				t.Error("TakeState:", err)
			}
		})
		wg.Go(func() {
			err := s.SaveInstallation(ctx, inst(fmt.Sprintf("tn%d", i), "T-race"))
			switch {
			case err == nil:
				installs.Add(1)
			case errorsIsTaken(err):
			default:
				t.Error("SaveInstallation:", err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, events.Load(), "event processed once")
	require.EqualValues(t, 1, sigs.Load(), "replayed slash command refused")
	require.EqualValues(t, 1, states.Load(), "OAuth state consumed once")
	require.EqualValues(t, 1, installs.Load(), "one tenant owns the workspace")
	in, err := replicas[1].InstallationByTeam(ctx, "T-race", "")
	require.NoError(t, err)
	require.Equal(t, "/dev/slackadapter/T-race", in.SecretName)
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func errorsIsTaken(err error) bool    { return errors.Is(err, store.ErrTeamTaken) }

// leases: a lease is one holder's until it expires or is released; of
// handles racing for it exactly one wins.
func leases(ctx context.Context, t *testing.T, open opener) {
	r1, r2 := open(t), open(t)
	ok, err := r1.TryLease(ctx, "token-refresh:T1", "a", t0, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = r2.TryLease(ctx, "token-refresh:T1", "b", t0.Add(30*time.Second), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "held by a")
	ok, err = r2.TryLease(ctx, "token-refresh:T2", "b", t0, time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "leases are per name")
	ok, err = r1.TryLease(ctx, "token-refresh:T1", "a", t0.Add(50*time.Second), time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "the holder renews")
	ok, err = r2.TryLease(ctx, "token-refresh:T1", "b", t0.Add(100*time.Second), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "the renewal holds")
	ok, err = r2.TryLease(ctx, "token-refresh:T1", "b", t0.Add(111*time.Second), time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "expired (a died): b takes over")
	require.NoError(t, r1.ReleaseLease(ctx, "token-refresh:T1", "a"), "releasing a lost lease does nothing")
	ok, err = r1.TryLease(ctx, "token-refresh:T1", "a", t0.Add(112*time.Second), time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "still b's")
	require.NoError(t, r2.ReleaseLease(ctx, "token-refresh:T1", "b"))
	ok, err = r1.TryLease(ctx, "token-refresh:T1", "a", t0.Add(113*time.Second), time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "released: free at once")

	// a race for a free lease through both handles: one winner
	const n = 16
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		s := []*store.Store{r1, r2}[i%2]
		wg.Go(func() {
			ok, err := s.TryLease(ctx, "race", fmt.Sprintf("h%d", i), t0, time.Minute)
			if err != nil {
				t.Error("TryLease:", err)
			} else if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, won.Load())
}

// noticeTokens (ADR 0137): an installation's notice token is kept only
// while the installation is live for its tenant, read only as that
// tenant, and deleted when the installation is disabled or its tenant
// purged.
func noticeTokens(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	nt := func(tenant, team string, b byte) store.NoticeToken {
		return store.NoticeToken{TeamID: team, TenantID: tenant, Sealed: []byte{b, b}, ExpiresAt: t0.Add(12 * time.Hour)}
	}
	require.True(t, errorsIsNotFound(s.PutNoticeToken(ctx, nt("t_a", "T1", 1))), "no installation, no notice token")
	require.NoError(t, s.SaveInstallation(ctx, inst("t_a", "T1")))
	require.True(t, errorsIsNotFound(s.PutNoticeToken(ctx, nt("t_b", "T1", 1))), "not for another tenant's installation")
	require.NoError(t, s.PutNoticeToken(ctx, nt("t_a", "T1", 1)))
	require.NoError(t, s.PutNoticeToken(ctx, nt("t_a", "T1", 2)), "replaced")
	got, err := s.NoticeTokenFor(ctx, "t_a", "T1")
	require.NoError(t, err)
	require.Equal(t, []byte{2, 2}, got.Sealed)
	require.Equal(t, t0.Add(12*time.Hour).Unix(), got.ExpiresAt.Unix())
	_, err = s.NoticeTokenFor(ctx, "t_b", "T1")
	require.True(t, errorsIsNotFound(err), "read only as its tenant")

	require.NoError(t, s.DisableInstallation(ctx, "t_a", "T1", t0))
	_, err = s.NoticeTokenFor(ctx, "t_a", "T1")
	require.True(t, errorsIsNotFound(err), "deleted with the installation's disabling")
	require.True(t, errorsIsNotFound(s.PutNoticeToken(ctx, nt("t_a", "T1", 3))), "a late writer cannot bring it back")

	// Re-installed: kept again, until the tenant is purged.
	require.NoError(t, s.SaveInstallation(ctx, inst("t_a", "T1")))
	require.NoError(t, s.PutNoticeToken(ctx, nt("t_a", "T1", 4)))
	require.NoError(t, s.SaveInstallation(ctx, inst("t_a", "T2")))
	require.NoError(t, s.PutNoticeToken(ctx, nt("t_a", "T2", 5)))
	require.NoError(t, s.PurgeTenant(ctx, "t_a"))
	for _, team := range []string{"T1", "T2"} {
		_, err = s.NoticeTokenFor(ctx, "t_a", team)
		require.True(t, errorsIsNotFound(err), "purged with the tenant: %s", team)
	}
}

// tokenDeletions (ADR 0137): disabling an installation records its bot
// token for deletion until the deletion is done; installing the
// workspace again for the same tenant cancels it (the secret holds the new
// token), another tenant's install does not (the old secret is the old
// tenant's), and purging the tenant drops it.
func tokenDeletions(ctx context.Context, t *testing.T, open opener) {
	s := open(t)
	require.NoError(t, s.SaveInstallation(ctx, inst("t_a", "T1")))
	require.NoError(t, s.SaveInstallation(ctx, inst("t_a", "T2")))
	pending := func() []string {
		t.Helper()
		ds, err := s.TokenDeletions(ctx)
		require.NoError(t, err)
		var out []string
		for _, d := range ds {
			out = append(out, d.TenantID+"/"+d.TeamID+"="+d.SecretName)
		}
		return out
	}
	require.Empty(t, pending())
	require.NoError(t, s.DisableInstallation(ctx, "t_a", "T1", t0))
	require.NoError(t, s.DisableInstallation(ctx, "t_a", "T1", t0.Add(time.Minute)), "twice: one record")
	require.NoError(t, s.DisableInstallation(ctx, "t_a", "T2", t0))
	require.Equal(t, []string{"t_a/T1=" + inst("t_a", "T1").SecretName, "t_a/T2=" + inst("t_a", "T2").SecretName}, pending())

	require.NoError(t, s.TokenDeleted(ctx, "t_a", "T2"))
	require.NoError(t, s.SaveInstallation(ctx, inst("t_b", "T1")), "another tenant takes T1 over")
	require.Equal(t, []string{"t_a/T1=" + inst("t_a", "T1").SecretName}, pending(), "t_a's token of T1 is still to delete")
	require.NoError(t, s.DisableInstallation(ctx, "t_b", "T1", t0))
	require.NoError(t, s.SaveInstallation(ctx, inst("t_b", "T1")), "installed again by t_b")
	require.Equal(t, []string{"t_a/T1=" + inst("t_a", "T1").SecretName}, pending(), "t_b's re-install cancelled only its own")
	require.NoError(t, s.PurgeTenant(ctx, "t_a"))
	require.Empty(t, pending())
}
