package events

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgtest"

	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

// replicas opens two handles ("replicas") on one fresh database.
func replicas(t *testing.T, dialect string) (a, b *store.DB) {
	t.Helper()
	if dialect == "sqlite" {
		path := filepath.Join(t.TempDir(), "auth.db")
		var err error
		a, err = store.OpenSQLite(t.Context(), path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = a.Close() })
		b, err = store.OpenSQLite(t.Context(), path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return a, b
	}
	u := pgtest.Start(t)
	if u == "" {
		t.Skip("PostgreSQL not available")
	}
	var err error
	a, err = store.OpenPostgres(t.Context(), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err = store.OpenPostgres(t.Context(), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return a, b
}

func appendRevocation(t *testing.T, db *store.DB, key string) int64 {
	t.Helper()
	c, err := db.Q().AppendEvent(t.Context(), store.Event{Kind: store.EventKeyRevoked, TenantID: "t", KeyID: key, At: time.Now()})
	require.NoError(t, err)
	return c
}

// watchInto runs Watch on db/hub from now on and delivers events to a channel.
func watchInto(ctx context.Context, t *testing.T, db *store.DB, hub *Hub) <-chan store.Event {
	t.Helper()
	out := make(chan store.Event, 16)
	ready := make(chan struct{})
	go func() {
		_ = Watch(ctx, db, hub, 0, func() error { close(ready); return nil },
			func(e store.Event) error { out <- e; return nil },
			func(int64) error { return nil })
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("watch not ready")
	}
	return out
}

// An event another replica appends (it cannot ring this process's Hub)
// reaches a watcher here well within the one-second revocation bound.
func TestFeedDeliversAnotherReplicasEvent(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			a, b := replicas(t, d)
			hub := NewHub()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f := NewFeed(a, hub, nil)
			if d == "postgres" {
				// Only NOTIFY can be in time: the safety poll is an hour away.
				f.safe = time.Hour
			}
			done := make(chan struct{})
			go func() { f.Run(ctx); close(done) }()
			if d == "postgres" {
				require.Eventually(t, f.Listening, 30*time.Second, 5*time.Millisecond, "LISTEN not established")
			}
			events := watchInto(ctx, t, a, hub)
			start := time.Now()
			cur := appendRevocation(t, b, "k1")
			select {
			case e := <-events:
				require.Equal(t, cur, e.Cursor)
				require.Equal(t, "k1", e.KeyID)
				require.Less(t, time.Since(start), time.Second)
			case <-time.After(3 * time.Second):
				t.Fatal("the other replica's event did not arrive")
			}
			cancel()
			<-done // Run returns once its listener is gone
		})
	}
}

// fakeHead counts the Feed's queries and can refuse LISTEN.
type fakeHead struct {
	head    atomic.Int64
	queries atomic.Int64
	listen  func(ctx context.Context, listening, notify func()) error
}

func (f *fakeHead) EventHead(context.Context) (int64, error) {
	f.queries.Add(1)
	return f.head.Load(), nil
}

func (f *fakeHead) ListenEvents(ctx context.Context, listening, notify func()) error {
	if f.listen == nil {
		return store.ErrNoListen
	}
	return f.listen(ctx, listening, notify)
}

// startFeed runs f and waits for the one ring it gives once its baseline
// head is read, so later rings are the ones a test asks about.
func startFeed(ctx context.Context, t *testing.T, f *Feed, hub *Hub) {
	t.Helper()
	first := hub.Wait()
	go f.Run(ctx)
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("the feed did not ring after reading its baseline")
	}
}

func TestFeedPolling(t *testing.T) {
	t.Run("idle: one query per interval, no ring", func(t *testing.T) {
		src := &fakeHead{}
		hub := NewHub()
		f := newFeed(src, hub, nil)
		f.poll = 20 * time.Millisecond
		ctx, cancel := context.WithCancel(t.Context())
		startFeed(ctx, t, f, hub)
		wake := hub.Wait()
		time.Sleep(210 * time.Millisecond)
		cancel()
		n := src.queries.Load()
		require.GreaterOrEqual(t, n, int64(3), "the head is polled")
		require.LessOrEqual(t, n, int64(13), "one query per interval plus the first")
		select {
		case <-wake:
			t.Fatal("an unchanged head must not wake the watchers")
		default:
		}
	})
	t.Run("a moved head rings", func(t *testing.T) {
		src := &fakeHead{}
		hub := NewHub()
		f := newFeed(src, hub, nil)
		f.poll = 10 * time.Millisecond
		startFeed(t.Context(), t, f, hub)
		wake := hub.Wait()
		time.Sleep(30 * time.Millisecond)
		src.head.Store(7)
		select {
		case <-wake:
		case <-time.After(2 * time.Second):
			t.Fatal("no ring after the head moved")
		}
	})
	t.Run("LISTEN failing falls back to the fast poll", func(t *testing.T) {
		src := &fakeHead{listen: func(context.Context, func(), func()) error { return errors.New("connection refused") }}
		hub := NewHub()
		f := newFeed(src, hub, nil)
		f.poll, f.safe = 10*time.Millisecond, time.Hour
		startFeed(t.Context(), t, f, hub)
		wake := hub.Wait()
		time.Sleep(30 * time.Millisecond)
		src.head.Store(3)
		select {
		case <-wake:
		case <-time.After(2 * time.Second):
			t.Fatal("no ring while LISTEN is down")
		}
	})
}
