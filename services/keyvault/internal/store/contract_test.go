package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// opener opens another handle ("replica") on one fresh database.
type opener = func(t *testing.T) *store.Store

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)

func TestContract(t *testing.T) {
	cases := []pgtest.Case[*store.Store]{
		{Name: "secrets", Run: secrets},
		{Name: "versions and stages", Run: versionsAndStages},
		{Name: "prune versions", Run: pruneVersions},
		{Name: "list and scheduler queries", Run: listAndScheduler},
		{Name: "read value", Run: readValue},
		{Name: "read value after every kind of write", Run: readValueAfterWrites},
		{Name: "read value: concurrent reads never outlive a write", Run: readValueRaces},
		{Name: "access times", Run: accessTimes},
		{Name: "transactions roll back", Run: rollback},
		{Name: "leases", Run: leases},
		{Name: "data keys and KEKs", Run: keys},
		{Name: "tenant erase", Run: eraseTenant},
		{Name: "shred events", Run: shredEvents},
		{Name: "stream cursors", Run: cursors},
		{Name: "audit chain", Run: auditChain},
		{Name: "two replicas: stage moves stay serial", Run: concurrentStageMoves},
		{Name: "two replicas: audit chain stays linear", Run: concurrentAudit},
		{Name: "two replicas: one lease holder, one first data key", Run: concurrentLeaseAndDEK},
	}
	pgtest.RunContract(t, "kv", pgtest.Openers[*store.Store]{
		SQLite: func(ctx context.Context, dir string) (*store.Store, error) { return store.Open(ctx, dir) },
		Postgres: func(ctx context.Context, url string) (*store.Store, error) {
			return store.OpenPostgres(ctx, url, pstore.DefaultPoolOptions)
		},
	}, cases)
}

func secret(tenant, id, name string) store.Secret {
	return store.Secret{
		ID: id, TenantID: tenant, Name: name, ARN: "arn:" + tenant + ":" + name, Description: "d", ContentType: 1,
		CreatedAt: t0, LastChangedAt: t0, RotationSchedule: "rate(1 day)", RotationFunction: "random_password",
		RotationFailures: 0, Owner: "spiffe://rampart.local/svc/ingestion",
	}
}

func insert(ctx context.Context, t *testing.T, st *store.Store, s store.Secret) {
	t.Helper()
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertSecret(ctx, s) }))
}

func addVersion(ctx context.Context, t *testing.T, st *store.Store, tenant, secretID, vid string, ct []byte, stages ...string) {
	t.Helper()
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertVersion(ctx, store.Version{TenantID: tenant, SecretID: secretID, VersionID: vid, CreatedAt: t0, DEKID: "dek1", Ciphertext: ct}); err != nil {
			return err
		}
		for _, s := range stages {
			if err := tx.SetStage(ctx, tenant, secretID, s, vid); err != nil {
				return err
			}
		}
		return nil
	}))
}

func secrets(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	s := secret("t1", "s1", "/dev/app/db")
	insert(ctx, t, st, s)
	insert(ctx, t, st, secret("t2", "s2", "/dev/app/db")) // same name, other tenant

	err := st.InTx(ctx, func(tx *store.Tx) error { return tx.InsertSecret(ctx, secret("t1", "s3", "/dev/app/db")) })
	require.ErrorIs(t, err, store.ErrConflict, "name taken in the tenant")

	got, err := st.Read().SecretByName(ctx, "t1", "/dev/app/db")
	require.NoError(t, err)
	require.Equal(t, s, got, "every column round-trips")
	got, err = st.Read().SecretByID(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Equal(t, s, got)
	_, err = st.Read().SecretByID(ctx, "t2", "s1")
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's id")
	_, err = st.Read().SecretByName(ctx, "t3", "/dev/app/db")
	require.ErrorIs(t, err, store.ErrNotFound)

	s.Description, s.KMSKeyID, s.ContentType = "new", "kms-1", 2
	s.LastChangedAt, s.DeletedAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	s.RotationEnabled, s.RotationSchedule, s.RotationFunction = true, "rate(2 days)", "webhook"
	s.LastRotatedAt, s.NextRotationAt = t0.Add(3*time.Hour), t0.Add(4*time.Hour)
	s.RotationVersionID, s.RotationStep, s.RotationError, s.RotationFailures = "v9", 2, "boom", 3
	s.Owner = "spiffe://rampart.local/svc/other" // owner is set at insert only
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateSecret(ctx, s) }))
	got, err = st.Read().SecretByID(ctx, "t1", "s1")
	require.NoError(t, err)
	want := s
	want.Owner = "spiffe://rampart.local/svc/ingestion"
	require.Equal(t, want, got)
	ghost := s
	ghost.TenantID = "t2"
	require.ErrorIs(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateSecret(ctx, ghost) }), store.ErrNotFound)

	t.Run("tags", func(t *testing.T) {
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
			for _, tg := range []store.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "dev"}, {Key: "team", Value: "b"}} {
				if err := tx.SetTag(ctx, "t1", "s1", tg); err != nil {
					return err
				}
			}
			return nil
		}))
		tags, err := st.Read().Tags(ctx, "t1", "s1")
		require.NoError(t, err)
		require.Equal(t, []store.Tag{{Key: "env", Value: "dev"}, {Key: "team", Value: "b"}}, tags, "ordered by key, replaced")
		tags, err = st.Read().Tags(ctx, "t2", "s1")
		require.NoError(t, err)
		require.Empty(t, tags, "tenant scoped")
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTag(ctx, "t1", "s1", "env") }))
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTag(ctx, "t1", "s1", "absent") }))
		tags, err = st.Read().Tags(ctx, "t1", "s1")
		require.NoError(t, err)
		require.Equal(t, []store.Tag{{Key: "team", Value: "b"}}, tags)
	})

	t.Run("delete", func(t *testing.T) {
		addVersion(ctx, t, st, "t1", "s1", "v1", []byte("c1"), "AWSCURRENT")
		require.ErrorIs(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSecret(ctx, "t2", "s1") }), store.ErrNotFound)
		require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSecret(ctx, "t1", "s1") }))
		_, err := st.Read().SecretByID(ctx, "t1", "s1")
		require.ErrorIs(t, err, store.ErrNotFound)
		vs, err := st.Read().Versions(ctx, "t1", "s1")
		require.NoError(t, err)
		require.Empty(t, vs)
		stages, err := st.Read().Stages(ctx, "t1", "s1")
		require.NoError(t, err)
		require.Empty(t, stages)
		tags, err := st.Read().Tags(ctx, "t1", "s1")
		require.NoError(t, err)
		require.Empty(t, tags)
		_, err = st.Read().SecretByID(ctx, "t2", "s2")
		require.NoError(t, err, "the other tenant's secret stays")
	})
}

func versionsAndStages(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "a"))
	addVersion(ctx, t, st, "t1", "s1", "v1", []byte{0, 1, 2}, "AWSCURRENT")
	addVersion(ctx, t, st, "t1", "s1", "v2", []byte{3, 4}, "AWSPENDING")

	// The idempotency token is the version id: a second write with the
	// same token is a conflict, never a second version.
	err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertVersion(ctx, store.Version{TenantID: "t1", SecretID: "s1", VersionID: "v1", CreatedAt: t0, DEKID: "d", Ciphertext: []byte{9}})
	})
	require.ErrorIs(t, err, store.ErrConflict)

	v, err := st.Read().Version(ctx, "t1", "s1", "v1")
	require.NoError(t, err)
	require.Equal(t, store.Version{TenantID: "t1", SecretID: "s1", VersionID: "v1", Seq: 1, CreatedAt: t0, DEKID: "dek1", Ciphertext: []byte{0, 1, 2}}, v)
	_, err = st.Read().Version(ctx, "t2", "s1", "v1")
	require.ErrorIs(t, err, store.ErrNotFound)
	v, err = st.Read().VersionByStage(ctx, "t1", "s1", "AWSPENDING")
	require.NoError(t, err)
	require.Equal(t, "v2", v.VersionID)
	require.Equal(t, int64(2), v.Seq)
	_, err = st.Read().VersionByStage(ctx, "t1", "s1", "AWSPREVIOUS")
	require.ErrorIs(t, err, store.ErrNotFound)

	// finishSecret: move AWSCURRENT to v2, AWSPREVIOUS to v1, drop pending.
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.SecretByID(ctx, "t1", "s1"); err != nil {
			return err
		}
		if err := tx.SetStage(ctx, "t1", "s1", "AWSPREVIOUS", "v1"); err != nil {
			return err
		}
		if err := tx.SetStage(ctx, "t1", "s1", "AWSCURRENT", "v2"); err != nil {
			return err
		}
		return tx.RemoveStage(ctx, "t1", "s1", "AWSPENDING")
	}))
	stages, err := st.Read().Stages(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"AWSCURRENT": "v2", "AWSPREVIOUS": "v1"}, stages)
	stages, err = st.Read().Stages(ctx, "t2", "s1")
	require.NoError(t, err)
	require.Empty(t, stages)

	vs, err := st.Read().Versions(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Len(t, vs, 2)
	require.Equal(t, []string{"v2", "v1"}, []string{vs[0].VersionID, vs[1].VersionID}, "newest first")
	for _, v := range vs {
		require.Empty(t, v.Ciphertext, "listings carry no ciphertext")
	}
}

func pruneVersions(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "a"))
	for i := 1; i <= 6; i++ {
		addVersion(ctx, t, st, "t1", "s1", fmt.Sprintf("v%d", i), []byte{byte(i)})
	}
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetStage(ctx, "t1", "s1", "AWSCURRENT", "v6"); err != nil {
			return err
		}
		return tx.SetStage(ctx, "t1", "s1", "OLD", "v1")
	}))
	var n int64
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.PruneVersions(ctx, "t1", "s1", 4)
		return err
	}))
	require.Equal(t, int64(2), n, "6 versions, keep 4: two oldest unlabelled go")
	vs, err := st.Read().Versions(ctx, "t1", "s1")
	require.NoError(t, err)
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.VersionID)
	}
	require.Equal(t, []string{"v6", "v5", "v4", "v1"}, ids, "labelled versions are never pruned")
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.PruneVersions(ctx, "t1", "s1", 1)
		return err
	}))
	require.Equal(t, int64(2), n, "keep fewer than the labelled ones: every unlabelled goes")
}

func listAndScheduler(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	mk := func(id, name string, mut func(*store.Secret)) {
		s := secret("t1", id, name)
		mut(&s)
		insert(ctx, t, st, s)
	}
	mk("a", "/dev/a/x", func(*store.Secret) {})
	mk("b", "/dev/a/y", func(s *store.Secret) { s.RotationEnabled, s.NextRotationAt = true, t0.Add(-time.Minute) })
	mk("c", "/dev/b/z", func(s *store.Secret) { s.DeletedAt = t0.Add(-time.Hour) })
	mk("d", "/dev/b/w", func(s *store.Secret) {
		s.RotationEnabled, s.NextRotationAt, s.RotationVersionID = true, t0.Add(-time.Minute), "running"
	})
	mk("e", "/dev/c/v", func(s *store.Secret) { s.RotationEnabled, s.NextRotationAt = true, t0.Add(time.Hour) })
	insert(ctx, t, st, secret("t2", "f", "/dev/a/x"))
	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetTag(ctx, "t1", "a", store.Tag{Key: "team", Value: "x"})
	}))

	names := func(ss []store.Secret) []string {
		out := []string{}
		for _, s := range ss {
			out = append(out, s.TenantID+":"+s.Name)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.ListFilter
		want []string
	}{
		{"all live", store.ListFilter{Limit: 10}, []string{"t1:/dev/a/x", "t1:/dev/a/y", "t1:/dev/b/w", "t1:/dev/c/v"}},
		{"with deleted", store.ListFilter{Limit: 10, IncludeDeleted: true}, []string{"t1:/dev/a/x", "t1:/dev/a/y", "t1:/dev/b/w", "t1:/dev/b/z", "t1:/dev/c/v"}},
		{"prefix", store.ListFilter{Limit: 10, NamePrefix: "/dev/a/"}, []string{"t1:/dev/a/x", "t1:/dev/a/y"}},
		{"page", store.ListFilter{Limit: 2, AfterName: "/dev/a/x"}, []string{"t1:/dev/a/y", "t1:/dev/b/w"}},
		{"tag key", store.ListFilter{Limit: 10, TagKey: "team"}, []string{"t1:/dev/a/x"}},
		{"tag value", store.ListFilter{Limit: 10, TagKey: "team", TagValue: "x"}, []string{"t1:/dev/a/x"}},
		{"tag value miss", store.ListFilter{Limit: 10, TagKey: "team", TagValue: "y"}, []string{}},
	} {
		got, err := st.Read().ListSecrets(ctx, "t1", c.f)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, names(got), c.name)
	}

	due, err := st.Read().DueRotations(ctx, t0, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"t1:/dev/a/y"}, names(due), "enabled, due, not running, not deleted")
	running, err := st.Read().InProgressRotations(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"t1:/dev/b/w"}, names(running))
	expired, err := st.Read().ExpiredDeletions(ctx, t0, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"t1:/dev/b/z"}, names(expired))
	expired, err = st.Read().ExpiredDeletions(ctx, t0.Add(-2*time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, expired)
}

func readValue(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "n"))
	addVersion(ctx, t, st, "t1", "s1", "v1", []byte("old"), "AWSPREVIOUS", "KEEP")
	addVersion(ctx, t, st, "t1", "s1", "v2", []byte("new"), "AWSCURRENT")

	r, err := st.ReadValue(ctx, "t1", "n", "", "AWSCURRENT")
	require.NoError(t, err)
	require.Equal(t, "s1", r.Secret.ID)
	require.Equal(t, "v2", r.Version.VersionID)
	require.Equal(t, []byte("new"), r.Version.Ciphertext)
	require.Equal(t, []string{"AWSCURRENT"}, r.Labels)

	r, err = st.ReadValue(ctx, "t1", "n", "v1", "")
	require.NoError(t, err)
	require.Equal(t, []byte("old"), r.Version.Ciphertext)
	require.Equal(t, int64(1), r.Version.Seq)
	require.Equal(t, t0, r.Version.CreatedAt)
	require.Equal(t, []string{"AWSPREVIOUS", "KEEP"}, r.Labels, "sorted")

	r, err = st.ReadValue(ctx, "t1", "n", "", "AWSPENDING")
	require.NoError(t, err)
	require.Empty(t, r.Version.VersionID, "no such stage: secret without version")
	r, err = st.ReadValue(ctx, "t1", "n", "nope", "")
	require.NoError(t, err)
	require.Empty(t, r.Version.VersionID)
	_, err = st.ReadValue(ctx, "t2", "n", "", "AWSCURRENT")
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant")
}

// ReadValue answers from a cache on SQLite: every write, in a transaction
// or not, must show in the next read, and what a read returns is the
// caller's to change.
func readValueAfterWrites(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "n"))
	addVersion(ctx, t, st, "t1", "s1", "v1", []byte("one"), "AWSCURRENT")
	read := func() store.ValueRead {
		t.Helper()
		r, err := st.ReadValue(ctx, "t1", "n", "", "AWSCURRENT")
		require.NoError(t, err)
		return r
	}
	r := read()
	require.Equal(t, "v1", r.Version.VersionID)
	r.Version.Ciphertext[0], r.Labels[0] = 'X', "CHANGED"
	r = read()
	require.Equal(t, []byte("one"), r.Version.Ciphertext, "a caller's change does not reach the next read")
	require.Equal(t, []string{"AWSCURRENT"}, r.Labels)

	addVersion(ctx, t, st, "t1", "s1", "v2", []byte("two"), "AWSCURRENT")
	require.Equal(t, []byte("two"), read().Version.Ciphertext, "a new current version (transaction)")

	require.NoError(t, st.Read().SetStage(ctx, "t1", "s1", "AWSCURRENT", "v1"))
	require.Equal(t, "v1", read().Version.VersionID, "a stage moved outside a transaction")

	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error {
		sec, err := tx.SecretByName(ctx, "t1", "n")
		if err != nil {
			return err
		}
		sec.DeletedAt = t0
		return tx.UpdateSecret(ctx, sec)
	}))
	require.Equal(t, t0, read().Secret.DeletedAt, "scheduled for deletion")

	require.NoError(t, st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSecret(ctx, "t1", "s1") }))
	_, err := st.ReadValue(ctx, "t1", "n", "", "AWSCURRENT")
	require.ErrorIs(t, err, store.ErrNotFound, "deleted")
}

// Readers filling the cache while a writer moves AWSCURRENT: once a write
// has returned, no read started after it sees the version before it.
func readValueRaces(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "n"))
	addVersion(ctx, t, st, "t1", "s1", "v0", []byte("0"), "AWSCURRENT")
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				_, _ = st.ReadValue(ctx, "t1", "n", "", "AWSCURRENT")
			}
		})
	}
	for i := 1; i <= 30; i++ {
		vid := fmt.Sprintf("v%d", i)
		addVersion(ctx, t, st, "t1", "s1", vid, []byte(vid), "AWSCURRENT")
		r, err := st.ReadValue(ctx, "t1", "n", "", "AWSCURRENT")
		require.NoError(t, err)
		require.Equal(t, vid, r.Version.VersionID, "read after write %d", i)
	}
	done.Store(true)
	wg.Wait()
}

func accessTimes(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "n"))
	require.NoError(t, st.TouchAccessed(ctx, map[[2]string]time.Time{{"t1", "s1"}: t0.Add(time.Hour), {"t2", "s1"}: t0.Add(5 * time.Hour)}))
	require.NoError(t, st.TouchAccessed(ctx, map[[2]string]time.Time{{"t1", "s1"}: t0.Add(time.Minute)}))
	s, err := st.Read().SecretByID(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour), s.LastAccessedAt, "never moves backwards; other tenants' keys touch nothing")
}

func rollback(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	boom := fmt.Errorf("boom")
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertSecret(ctx, secret("t1", "s1", "n")); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = st.Read().SecretByID(ctx, "t1", "s1")
	require.ErrorIs(t, err, store.ErrNotFound, "nothing half-written")
}

func leases(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	ok, err := st.TryLease(ctx, "scheduler", "a", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = st.TryLease(ctx, "scheduler", "b", t0.Add(30*time.Second), t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "held by a")
	ok, err = st.TryLease(ctx, "scheduler", "a", t0.Add(30*time.Second), t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "renewed by its holder")
	ok, err = st.TryLease(ctx, "scheduler", "b", t0.Add(3*time.Minute), t0.Add(4*time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "expired: taken over")
	ok, err = st.TryLease(ctx, "other", "a", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "leases are per name")

	require.NoError(t, st.ReleaseLease(ctx, "other", "b"), "not b's: nothing happens")
	ok, err = st.TryLease(ctx, "other", "b", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "still a's")
	require.NoError(t, st.ReleaseLease(ctx, "other", "a"))
	ok, err = st.TryLease(ctx, "other", "b", t0, t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "released: free before it expires")
}

func keys(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	_, _, ok, err := st.CurrentDEK(ctx, "t1")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, st.InsertDEK(ctx, "t1", "d1", []byte{1}))
	require.NoError(t, st.InsertDEK(ctx, "t1", "d2", []byte{2}), "a second first key is dropped silently")
	id, w, ok, err := st.CurrentDEK(ctx, "t1")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "d1", id)
	require.Equal(t, []byte{1}, w)
	w, err = st.DEK(ctx, "t1", "d1")
	require.NoError(t, err)
	require.Equal(t, []byte{1}, w)
	_, err = st.DEK(ctx, "t2", "d1")
	require.ErrorIs(t, err, kms.ErrShredded, "another tenant's data key does not exist")

	k1 := kms.StoredKEK{Tenant: "t1", Version: 1, MasterVersion: 1, Wrapped: []byte{10}}
	k2 := kms.StoredKEK{Tenant: "t1", Version: 2, MasterVersion: 1, Wrapped: []byte{11}}
	k3 := kms.StoredKEK{Tenant: "t2", Version: 1, MasterVersion: 1, Wrapped: []byte{12}}
	for _, k := range []kms.StoredKEK{k1, k2, k3} {
		require.NoError(t, st.InsertKEK(ctx, k))
	}
	require.Error(t, st.InsertKEK(ctx, k1), "a KEK version is never reused")
	got, err := st.TenantKEKs(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, []kms.StoredKEK{k1, k2}, got)
	all, err := st.AllKEKs(ctx)
	require.NoError(t, err)
	require.Equal(t, []kms.StoredKEK{k1, k2, k3}, all)

	k1.Wrapped, k1.MasterVersion = []byte{20}, 2
	require.NoError(t, st.ReplaceWrapped(ctx, []kms.StoredKEK{k1}))
	got, err = st.TenantKEKs(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, []kms.StoredKEK{k1, k2}, got)

	require.NoError(t, st.DestroyTenantKEKs(ctx, "t1"))
	got, err = st.TenantKEKs(ctx, "t1")
	require.NoError(t, err)
	require.Equal(t, []kms.StoredKEK{{Tenant: "t1", Version: 1, MasterVersion: 2}, {Tenant: "t1", Version: 2, MasterVersion: 1}}, got, "tombstones stay")
	all, err = st.AllKEKs(ctx)
	require.NoError(t, err)
	require.Equal(t, []kms.StoredKEK{k3}, all)
	_, _, ok, err = st.CurrentDEK(ctx, "t1")
	require.NoError(t, err)
	require.False(t, ok, "data keys go with the KEKs")
	require.NoError(t, st.ReplaceWrapped(ctx, []kms.StoredKEK{{Tenant: "t1", Version: 1, MasterVersion: 3, Wrapped: []byte{1}}}))
	got, err = st.TenantKEKs(ctx, "t1")
	require.NoError(t, err)
	require.Nil(t, got[0].Wrapped, "a destroyed KEK is never rewrapped back")
}

func eraseTenant(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	insert(ctx, t, st, secret("t1", "s1", "a"))
	insert(ctx, t, st, secret("t1", "s2", "b"))
	insert(ctx, t, st, secret("t2", "s3", "a"))
	addVersion(ctx, t, st, "t1", "s1", "v1", []byte("x"), "AWSCURRENT")
	require.NoError(t, st.InsertDEK(ctx, "t1", "d1", []byte{1}))
	require.NoError(t, st.InsertKEK(ctx, kms.StoredKEK{Tenant: "t1", Version: 1, MasterVersion: 1, Wrapped: []byte{1}}))

	shredded, err := st.TenantShredded(ctx, "t1")
	require.NoError(t, err)
	require.False(t, shredded)
	res, err := st.EraseTenant(ctx, "t1", t0)
	require.NoError(t, err)
	require.Equal(t, store.ShredResult{ShreddedAt: t0, SecretsErased: 2, KeyVersionsCut: 1}, res)
	require.NoError(t, st.Compact(ctx))
	require.NoError(t, st.Checkpoint(ctx))
	shredded, err = st.TenantShredded(ctx, "t1")
	require.NoError(t, err)
	require.True(t, shredded)
	list, err := st.Read().ListSecrets(ctx, "t1", store.ListFilter{Limit: 10, IncludeDeleted: true})
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = st.DEK(ctx, "t1", "d1")
	require.ErrorIs(t, err, kms.ErrShredded)
	_, err = st.Read().SecretByID(ctx, "t2", "s3")
	require.NoError(t, err, "other tenants untouched")

	res, err = st.EraseTenant(ctx, "t1", t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, store.ShredResult{ShreddedAt: t0, AlreadyErased: true}, res, "reports the first shred")
}

// shredEvents: each tenant's first shred is one event, in the order they
// were made; a repeated shred adds none (WatchShreds, ADR 0084).
func shredEvents(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	head, err := st.ShredHead(ctx)
	require.NoError(t, err)
	require.Zero(t, head)
	for i, tenant := range []string{"t1", "t2", "t1", "t3"} {
		_, err := st.EraseTenant(ctx, tenant, t0.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
	}
	all, err := st.ShredsAfter(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, all, 3, "a repeated shred is no new event")
	var tenants []string
	for i, e := range all {
		tenants = append(tenants, e.Tenant)
		if i > 0 {
			require.Greater(t, e.Seq, all[i-1].Seq)
		}
	}
	require.Equal(t, []string{"t1", "t2", "t3"}, tenants)
	require.True(t, all[0].ShreddedAt.Equal(t0))
	head, err = st.ShredHead(ctx)
	require.NoError(t, err)
	require.Equal(t, all[2].Seq, head)
	rest, err := st.ShredsAfter(ctx, all[0].Seq, 1)
	require.NoError(t, err)
	require.Equal(t, []store.ShredEvent{all[1]}, rest, "after a cursor, at most limit")
	none, err := st.ShredsAfter(ctx, head, 10)
	require.NoError(t, err)
	require.Empty(t, none)
	for _, e := range all {
		got, ok, err := st.ShredAt(ctx, e.Seq)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, e, got, "the shred at its seq (ADR 0095)")
	}
	_, ok, err := st.ShredAt(ctx, head+1)
	require.NoError(t, err)
	require.False(t, ok, "no shred beyond the head")
}

func cursors(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	c, err := st.Cursor(ctx, "auth")
	require.NoError(t, err)
	require.Zero(t, c)
	require.NoError(t, st.SetCursor(ctx, "auth", 7))
	require.NoError(t, st.SetCursor(ctx, "auth", 5))
	c, err = st.Cursor(ctx, "auth")
	require.NoError(t, err)
	require.Equal(t, int64(7), c, "never moves backwards")
	require.NoError(t, st.SetCursor(ctx, "auth", 9))
	c, err = st.Cursor(ctx, "auth")
	require.NoError(t, err)
	require.Equal(t, int64(9), c)
}

func auditChain(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	n, err := st.VerifyAuditChain(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "empty chain verifies")
	for i := 1; i <= 3; i++ {
		seq, err := st.AppendAudit(ctx, t0.Add(time.Duration(i)*time.Second), "t1", []byte(fmt.Sprintf(`{"action":"a%d"}`, i)))
		require.NoError(t, err)
		require.Equal(t, int64(i), seq)
	}
	es, err := st.AuditEntries(ctx, 1, 10)
	require.NoError(t, err)
	require.Len(t, es, 2)
	require.Equal(t, int64(2), es[0].Seq)
	require.Equal(t, t0.Add(2*time.Second), es[0].At)
	require.Equal(t, "t1", es[0].TenantID)
	require.JSONEq(t, `{"action":"a2"}`, string(es[0].Record))
	require.Equal(t, es[0].Hash, es[1].PrevHash)
	require.Equal(t, store.ChainHash(3, es[0].Hash, es[1].Record), es[1].Hash)
	n, err = st.VerifyAuditChain(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), n)

	// Tampering with a stored record is detected.
	_, err = st.DB().ExecContext(ctx, rebind(st, `UPDATE audit_chain SET record = ? WHERE seq = 2`), `{"action":"forged"}`)
	require.NoError(t, err)
	_, err = st.VerifyAuditChain(ctx)
	require.ErrorContains(t, err, "link 2 was altered")
}

func rebind(st *store.Store, q string) string { return st.Dialect().Rebind(q) }

// concurrentStageMoves runs the shape of a rotation's finishSecret from
// two replicas at once on one secret: read the secret (locking it), add a
// version, move AWSPREVIOUS to the old AWSCURRENT and AWSCURRENT to the new
// one. Serialised, AWSPREVIOUS always ends on the version just before
// AWSCURRENT and the version numbers are 1..n without gaps; a lost update
// would leave AWSPREVIOUS behind or two versions with one number.
func concurrentStageMoves(ctx context.Context, t *testing.T, open opener) {
	a, b := open(t), open(t)
	insert(ctx, t, a, secret("t1", "s1", "n"))
	addVersion(ctx, t, a, "t1", "s1", "v0", []byte("0"), "AWSCURRENT")
	const perReplica = 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*perReplica)
	for r, st := range []*store.Store{a, b} {
		wg.Go(func() {
			for i := range perReplica {
				vid := fmt.Sprintf("r%d-%d", r, i)
				errs <- st.InTx(ctx, func(tx *store.Tx) error {
					if _, err := tx.SecretByID(ctx, "t1", "s1"); err != nil {
						return err
					}
					stages, err := tx.Stages(ctx, "t1", "s1")
					if err != nil {
						return err
					}
					if err := tx.InsertVersion(ctx, store.Version{TenantID: "t1", SecretID: "s1", VersionID: vid, CreatedAt: t0, DEKID: "d", Ciphertext: []byte(vid)}); err != nil {
						return err
					}
					if err := tx.SetStage(ctx, "t1", "s1", "AWSPREVIOUS", stages["AWSCURRENT"]); err != nil {
						return err
					}
					return tx.SetStage(ctx, "t1", "s1", "AWSCURRENT", vid)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	cur, err := a.Read().VersionByStage(ctx, "t1", "s1", "AWSCURRENT")
	require.NoError(t, err)
	prev, err := a.Read().VersionByStage(ctx, "t1", "s1", "AWSPREVIOUS")
	require.NoError(t, err)
	require.Equal(t, int64(2*perReplica+1), cur.Seq, "every move landed")
	require.Equal(t, cur.Seq-1, prev.Seq, "AWSPREVIOUS is the version AWSCURRENT replaced")
	vs, err := a.Read().Versions(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Len(t, vs, 2*perReplica+1)
	for i, v := range vs {
		require.Equal(t, int64(len(vs)-i), v.Seq, "version numbers 1..n, no duplicates")
	}
}

// concurrentAudit appends from two replicas (and several goroutines each)
// at once: the chain must come out linear with every record in it.
func concurrentAudit(ctx context.Context, t *testing.T, open opener) {
	a, b := open(t), open(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*each)
	for r, st := range []*store.Store{a, b} {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := st.AppendAudit(ctx, t0, "t1", []byte(fmt.Sprintf(`{"replica":%d,"writer":%d,"i":%d}`, r, w, i)))
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n, err := b.VerifyAuditChain(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2*writers*each), n)
}

// concurrentLeaseAndDEK races two replicas for the scheduler lease and a
// tenant's first data key: exactly one wins each.
func concurrentLeaseAndDEK(ctx context.Context, t *testing.T, open opener) {
	a, b := open(t), open(t)
	for round := range 5 {
		lease := fmt.Sprintf("lease-%d", round)
		tenant := fmt.Sprintf("t%d", round)
		var won atomic.Int32
		var wg sync.WaitGroup
		for r, st := range []*store.Store{a, b} {
			wg.Go(func() {
				ok, err := st.TryLease(ctx, lease, fmt.Sprintf("replica-%d", r), t0, t0.Add(time.Minute))
				require.NoError(t, err)
				if ok {
					won.Add(1)
				}
				require.NoError(t, st.InsertDEK(ctx, tenant, fmt.Sprintf("dek-%d", r), []byte(fmt.Sprint(r))))
			})
		}
		wg.Wait()
		require.Equal(t, int32(1), won.Load(), "one lease holder")
		var n int
		require.NoError(t, a.DB().QueryRowContext(ctx, rebind(a, `SELECT COUNT(*) FROM tenant_deks WHERE tenant_id = ?`), tenant).Scan(&n))
		require.Equal(t, 1, n, "one first data key")
		ida, _, _, err := a.CurrentDEK(ctx, tenant)
		require.NoError(t, err)
		idb, _, _, err := b.CurrentDEK(ctx, tenant)
		require.NoError(t, err)
		require.Equal(t, ida, idb, "both replicas use the same key")
	}
}
