package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// TestOpenOwnedRefusesASecondOwner: the SQLite read cache is only sound while one
// process makes every write, so a second owner of the same data dir is
// refused until the first is closed.
func TestOpenOwnedRefusesASecondOwner(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := store.OpenOwned(ctx, dir)
	require.NoError(t, err)

	_, err = store.OpenOwned(ctx, dir)
	require.ErrorIs(t, err, store.ErrInUse)
	require.ErrorContains(t, err, "DATABASE_URL")

	require.NoError(t, first.Close())
	again, err := store.OpenOwned(ctx, dir)
	require.NoError(t, err, "the lock is released on Close")
	require.NoError(t, again.Close())
}
