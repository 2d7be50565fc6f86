package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/store"
)

// TestStoredResponsesContract: insert, get, delete and purge of stored
// responses on both dialects, always within one tenant.
func TestStoredResponsesContract(t *testing.T) {
	for name, dsn := range dialects {
		t.Run(name, func(t *testing.T) {
			st := openStore(t, dsn)
			ctx := t.Context()
			now := time.Date(2026, 12, 20, 15, 47, 0, 0, time.UTC)
			for _, tenant := range []string{"t1", "t2"} {
				for d := range 10 {
					require.NoError(t, st.InsertStoredResponse(ctx, store.StoredResponse{Tenant: tenant, ID: fmt.Sprintf("resp_%d", d),
						Sealed: []byte{1, byte(d)}, At: now.AddDate(0, 0, -d)}))
				}
			}
			require.Error(t, st.InsertStoredResponse(ctx, store.StoredResponse{Tenant: "t1", ID: "resp_0", Sealed: []byte{2}, At: now}),
				"an id is never overwritten")

			got, err := st.StoredResponse(ctx, "t1", "resp_3")
			require.NoError(t, err)
			require.Equal(t, store.StoredResponse{Tenant: "t1", ID: "resp_3", Sealed: []byte{1, 3}, At: now.AddDate(0, 0, -3)}, got)
			_, err = st.StoredResponse(ctx, "t3", "resp_3")
			require.ErrorIs(t, err, store.ErrNotFound, "another tenant's id")

			require.ErrorIs(t, st.DeleteStoredResponse(ctx, "t3", "resp_3"), store.ErrNotFound)
			require.NoError(t, st.DeleteStoredResponse(ctx, "t1", "resp_3"))
			require.ErrorIs(t, st.DeleteStoredResponse(ctx, "t1", "resp_3"), store.ErrNotFound)
			_, err = st.StoredResponse(ctx, "t1", "resp_3")
			require.ErrorIs(t, err, store.ErrNotFound)
			_, err = st.StoredResponse(ctx, "t2", "resp_3")
			require.NoError(t, err, "the same id of another tenant stays")

			tenants, err := st.StoredResponseTenants(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"t1", "t2"}, tenants)

			cut := now.AddDate(0, 0, -4).Add(time.Minute) // responses of 4..9 days ago
			n, err := st.PurgeStoredResponses(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.EqualValues(t, 4, n)
			n, err = st.PurgeStoredResponses(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.EqualValues(t, 2, n)
			n, err = st.PurgeStoredResponses(ctx, "t1", cut, 4)
			require.NoError(t, err)
			require.Zero(t, n)
			left, err := st.CountStoredResponses(ctx, "t1")
			require.NoError(t, err)
			require.EqualValues(t, 3, left, "0, 1, 2 days old (3 was deleted)")
			other, err := st.CountStoredResponses(ctx, "t2")
			require.NoError(t, err)
			require.EqualValues(t, 10, other, "another tenant's responses are untouched")
		})
	}
}
