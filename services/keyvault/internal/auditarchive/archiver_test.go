package auditarchive_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/pkg/store/pgtest"
	"github.com/rampart-platform/rampart/services/keyvault/internal/auditarchive"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

type opener = func(t *testing.T) *store.Store

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func TestArchiverContract(t *testing.T) {
	cases := []pgtest.Case[*store.Store]{
		{Name: "due links move to the archive, the rest stays, both verify as one chain", Run: archivesDueLinks},
		{Name: "a tampered chain is not archived", Run: refusesTamperedChain},
		{Name: "two replicas archive each link once", Run: twoArchivers},
	}
	pgtest.RunContract(t, "kvarchive", pgtest.Openers[*store.Store]{
		SQLite: func(ctx context.Context, dir string) (*store.Store, error) { return store.Open(ctx, dir) },
		Postgres: func(ctx context.Context, url string) (*store.Store, error) {
			return store.OpenPostgres(ctx, url, pstore.DefaultPoolOptions)
		},
	}, cases)
}

// appendLinks appends n links, link i (1-based) at t0 + i minutes.
func appendLinks(ctx context.Context, t *testing.T, st *store.Store, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		_, err := st.AppendAudit(ctx, t0.Add(time.Duration(i)*time.Minute), "t1", fmt.Appendf(nil, `{"action":"read","n":%d}`, i))
		require.NoError(t, err)
	}
}

func objects(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func archivesDueLinks(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	appendLinks(ctx, t, st, 25)
	dir := t.TempDir()
	a := &auditarchive.Archiver{Store: st, Sink: auditarchive.Dir(dir), Retention: time.Hour, Batch: 7,
		Now: func() time.Time { return t0.Add(80*time.Minute + 30*time.Second) }} // links 1-20 are older than 1h
	n, err := a.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 20, n)
	require.Equal(t, []string{auditarchive.ObjectName(1, 7), auditarchive.ObjectName(8, 14), auditarchive.ObjectName(15, 20)}, objects(t, dir))

	seq, _, err := st.AuditArchived(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(20), seq)
	left, err := st.AuditEntries(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, left, 5, "only the links within the retention stay in the table")
	require.Equal(t, int64(21), left[0].Seq)

	last, err := st.VerifyAuditChain(ctx)
	require.NoError(t, err, "the table verifies from the last archived link")
	require.Equal(t, int64(25), last)
	archived, err := auditarchive.Verify(ctx, st, auditarchive.Dir(dir), objects(t, dir))
	require.NoError(t, err, "the archive verifies up to it")
	require.Equal(t, int64(20), archived)
	body, err := os.ReadFile(dir + "/" + auditarchive.ObjectName(1, 7))
	require.NoError(t, err)
	links, err := auditarchive.Decode(body)
	require.NoError(t, err)
	require.Len(t, links, 7)
	require.JSONEq(t, `{"action":"read","n":1}`, string(links[0].Record))
	require.Equal(t, t0.Add(time.Minute), links[0].At.UTC())

	// Nothing more is due; appends go on after the archived part.
	n, err = a.Run(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = st.AppendAudit(ctx, t0.Add(90*time.Minute), "t1", []byte(`{"action":"write"}`))
	require.NoError(t, err)
	last, err = st.VerifyAuditChain(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(26), last)

	// A missing object breaks the archive's verification.
	require.NoError(t, os.Remove(dir+"/"+auditarchive.ObjectName(8, 14)))
	_, err = auditarchive.Verify(ctx, st, auditarchive.Dir(dir), objects(t, dir))
	require.ErrorContains(t, err, "link 15 follows 7")
}

func refusesTamperedChain(ctx context.Context, t *testing.T, open opener) {
	st := open(t)
	appendLinks(ctx, t, st, 10)
	_, err := st.DB().ExecContext(ctx, st.Dialect().Rebind(`UPDATE audit_chain SET record = ? WHERE seq = 4`), `{"action":"forged"}`)
	require.NoError(t, err)
	dir := t.TempDir()
	a := &auditarchive.Archiver{Store: st, Sink: auditarchive.Dir(dir), Retention: time.Minute,
		Now: func() time.Time { return t0.Add(time.Hour) }}
	_, err = a.Run(ctx)
	require.ErrorContains(t, err, "link 4 was altered")
	require.Empty(t, objects(t, dir))
	left, err := st.AuditEntries(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, left, 10, "nothing deleted")
}

func twoArchivers(ctx context.Context, t *testing.T, open opener) {
	st1, st2 := open(t), open(t)
	appendLinks(ctx, t, st1, 60)
	dir := t.TempDir()
	now := func() time.Time { return t0.Add(2 * time.Hour) }
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*store.Store{st1, st2} {
		wg.Go(func() {
			a := &auditarchive.Archiver{Store: st, Sink: auditarchive.Dir(dir), Retention: time.Minute, Batch: 5, Now: now}
			for range 20 { // until both find nothing left
				n, err := a.Run(ctx)
				if err != nil || n == 0 {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	seq, _, err := st1.AuditArchived(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(60), seq)
	archived, err := auditarchive.Verify(ctx, st1, auditarchive.Dir(dir), objects(t, dir))
	require.NoError(t, err, "the objects hold each link once, in order")
	require.Equal(t, int64(60), archived)
	require.Len(t, objects(t, dir), 12)
}
