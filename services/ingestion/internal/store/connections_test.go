package store_test

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// TestConsumeState: the state of a pending connection is taken once, by
// one statement, whatever the callers do; a wrong state takes nothing and
// another tenant's call finds nothing.
func TestConsumeState(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir()+"/s.db")
	require.NoError(t, err)
	defer st.Close()

	good, bad := sha256.Sum256([]byte("state-1")), sha256.Sum256([]byte("state-2"))
	mk := func(id string) {
		_, err := st.CreateConnection(ctx, store.Connection{Tenant: "a", ID: id, Name: id, AuthEndpoint: "https://p/a", TokenEndpoint: "https://p/t",
			ClientID: "c", RedirectURI: "https://r/cb", StateHash: good[:], Verifier: []byte("sealed-" + id)})
		require.NoError(t, err)
	}

	mk("con_1")
	_, err = st.ConsumeState(ctx, "a", "con_1", bad[:])
	require.ErrorIs(t, err, store.ErrStateMismatch)
	_, err = st.ConsumeState(ctx, "b", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrNotFound)
	v, err := st.ConsumeState(ctx, "a", "con_1", good[:])
	require.NoError(t, err, "a wrong guess did not spend the state")
	require.Equal(t, "sealed-con_1", string(v))
	_, err = st.ConsumeState(ctx, "a", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrStateUsed, "second use fails although the connection is still pending")
	c, err := st.GetConnection(ctx, "a", "con_1")
	require.NoError(t, err)
	require.Equal(t, store.ConnPending, c.Status)
	require.Nil(t, c.StateHash)
	require.Nil(t, c.Verifier, "the sealed verifier is gone with the state")
	require.NoError(t, st.MarkConnected(ctx, "a", "con_1"))
	_, err = st.ConsumeState(ctx, "a", "con_1", good[:])
	require.ErrorIs(t, err, store.ErrConnected)

	// Concurrent double use: exactly one winner.
	mk("con_2")
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := st.ConsumeState(ctx, "a", "con_2", good[:])
			results <- err
		})
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, store.ErrStateUsed)
	}
	require.Equal(t, 1, won)
}
