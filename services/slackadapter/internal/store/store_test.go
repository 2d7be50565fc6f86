package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// Two replicas sharing one database: of many concurrent deliveries of the
// same signed request exactly one is accepted, by the primary key, until
// the mark expires.
func TestMarkSignatureOnceAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slackadapter.db")
	a, err := store.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	b, err := store.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })

	now := time.Now()
	var accepted atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			fresh, err := s.MarkSignature(ctx, "1700000000:v0=abc", now.Add(5*time.Minute))
			if err != nil {
				t.Error(err)
			}
			if fresh {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, accepted.Load())

	fresh, err := b.MarkSignature(ctx, "1700000001:v0=abc", now.Add(5*time.Minute))
	require.NoError(t, err)
	require.True(t, fresh, "another timestamp is another request")

	// Once expired and purged, the key is free (its signature would no
	// longer verify anyway).
	require.NoError(t, a.PurgeExpired(ctx, now.Add(6*time.Minute)))
	fresh, err = a.MarkSignature(ctx, "1700000000:v0=abc", now.Add(11*time.Minute))
	require.NoError(t, err)
	require.True(t, fresh)
}
