package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	pstore "github.com/rampart-platform/rampart/pkg/store"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// TestTwoReplicasOnPostgres runs two real keyvault processes on one
// PostgreSQL (sharing master.key and audit.key, as replicas must) and
// writes versions of one secret through both at once: every acknowledged
// version is readable from either replica, AWSCURRENT/AWSPREVIOUS end on
// consecutive writes, a retried token on the other replica makes no new
// version, and the audit log is one linear hash chain.
func TestTwoReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two keyvault processes")
	}
	rs := startReplicas(t, 2)
	dbURL, root := rs.dbURL, rs.root
	replicas := make([]keyvaultv1.SecretsServiceClient, 2)
	var ctx context.Context
	for i, e := range rs.envs {
		replicas[i], ctx = e.client(t, rs.addrs[i])
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	const name = "/dev/billing/db-password/shared"
	_, err := replicas[0].CreateSecret(cctx, &keyvaultv1.CreateSecretRequest{Name: name, SecretString: "v0"})
	require.NoError(t, err)

	const perReplica = 10
	type write struct{ vid, value string }
	var mu sync.Mutex
	var acked []write
	var wg sync.WaitGroup
	for r, c := range replicas {
		wg.Go(func() {
			for i := range perReplica {
				tok := fmt.Sprintf("%08d-aaaa-4aaa-8aaa-%012d", r, i)
				val := fmt.Sprintf("replica %d write %d", r, i)
				resp, err := c.PutSecretValue(cctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: val, ClientRequestToken: tok})
				if !assertNoError(t, err) {
					return
				}
				mu.Lock()
				acked = append(acked, write{vid: resp.GetVersionId(), value: val})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, acked, 2*perReplica)

	for _, w := range acked {
		for _, c := range replicas {
			got, err := c.GetSecretValue(cctx, &keyvaultv1.GetSecretValueRequest{Name: name, VersionId: w.vid})
			require.NoError(t, err)
			require.Equal(t, w.value, got.GetSecretString(), "acknowledged write readable from every replica")
		}
	}

	// A retry of an acknowledged write on the other replica is idempotent.
	retry, err := replicas[1].PutSecretValue(cctx, &keyvaultv1.PutSecretValueRequest{Name: name, SecretString: "replica 0 write 3",
		ClientRequestToken: fmt.Sprintf("%08d-aaaa-4aaa-8aaa-%012d", 0, 3)})
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("%08d-aaaa-4aaa-8aaa-%012d", 0, 3), retry.GetVersionId())

	list, err := replicas[1].ListSecretVersionIds(cctx, &keyvaultv1.ListSecretVersionIdsRequest{Name: name, IncludeDeprecated: true})
	require.NoError(t, err)
	require.Len(t, list.GetVersions(), 2*perReplica+1, "one version per acknowledged write, none from the retry")
	stageCount := map[string]int{}
	for _, v := range list.GetVersions() {
		for _, s := range v.GetVersionStages() {
			stageCount[s]++
		}
	}
	require.Equal(t, map[string]int{"AWSCURRENT": 1, "AWSPREVIOUS": 1}, stageCount)

	// Serialised stage moves: AWSPREVIOUS is the version AWSCURRENT replaced,
	// i.e. the one written just before it.
	st, err := store.OpenPostgres(cctx, dbURL, pstore.PoolOptions{MaxOpen: 2})
	require.NoError(t, err)
	defer st.Close()
	sec, err := st.Read().SecretByName(cctx, "t1", name)
	require.NoError(t, err)
	cur, err := st.Read().VersionByStage(cctx, "t1", sec.ID, "AWSCURRENT")
	require.NoError(t, err)
	prev, err := st.Read().VersionByStage(cctx, "t1", sec.ID, "AWSPREVIOUS")
	require.NoError(t, err)
	require.Equal(t, int64(2*perReplica+1), cur.Seq)
	require.Equal(t, cur.Seq-1, prev.Seq)

	n, err := st.VerifyAuditChain(cctx)
	require.NoError(t, err, "one linear audit chain from both replicas")
	require.GreaterOrEqual(t, n, int64(2*perReplica+2), "every write and the create are audited")
	_, err = os.Stat(filepath.Join(root, "kv0", "audit.log"))
	require.ErrorIs(t, err, os.ErrNotExist, "on PostgreSQL the audit log is the shared chain, not a file")
	for _, f := range []string{kms.MasterKeyFile, audit.KeyFile} {
		_, err = os.Stat(filepath.Join(root, "kv1", f))
		require.ErrorIs(t, err, os.ErrNotExist, "%s is read from KEY_DIR, not made per replica", f)
	}
}

// assertNoError reports err from a goroutine without stopping the test
// there (require would call FailNow off the test goroutine).
func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}
