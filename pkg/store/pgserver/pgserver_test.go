package pgserver_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/pgserver"
)

func TestEnvDropsPGVariables(t *testing.T) {
	t.Setenv("PGHOST", "elsewhere.example")
	t.Setenv("PGPASSWORD", "not-for-the-server")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	t.Setenv("RAMPART_KEEP", "1")
	env := pgserver.Env()
	for _, kv := range env {
		require.False(t, strings.HasPrefix(kv, "PG"), "PG variable leaked: %s", kv)
	}
	require.Contains(t, env, "LC_ALL=C")
	require.Contains(t, env, "TZ=UTC")
	require.Contains(t, env, "RAMPART_KEEP=1")
	require.NotContains(t, env, "LC_ALL=de_DE.UTF-8")
}

func TestUnprivileged(t *testing.T) {
	a, err := pgserver.Unprivileged()
	require.NoError(t, err)
	if os.Geteuid() != 0 {
		require.Nil(t, a, "a normal user runs the servers as itself")
		return
	}
	require.NotNil(t, a)
	require.Contains(t, []string{"postgres", "nobody"}, a.Name)
	require.NotZero(t, a.Credential.Uid, "never root")
}
