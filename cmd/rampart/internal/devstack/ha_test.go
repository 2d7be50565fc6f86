package devstack

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// With --ha every service runs twice on its own ports, clients get comma
// lists, every replica has a data dir of its own, and dev.env lists both
// edges with the first one as RAMPART_URL.
func TestHAStackReplicasAddressesAndDevEnv(t *testing.T) {
	svcs := newServices(2)
	defer closeSockets(svcs)
	require.Len(t, svcs, 12)
	require.Equal(t, []string{"auth-1", "auth-2"}, []string{svcs[0].name, svcs[1].name})
	require.Equal(t, 7011, svcs[1].grpcPort)
	require.Equal(t, 9016, svcs[11].adminPort)
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))

	seen := map[string]bool{}
	for _, sv := range svcs {
		require.False(t, seen[sv.listenAddr], sv.name)
		seen[sv.listenAddr] = true
	}
	env := stackEnv(svcs, "/d", "/d/pki")
	require.Contains(t, env, "RAMPART_KEYVAULT_ADDR="+svcs[2].listenAddr+","+svcs[3].listenAddr)
	require.Contains(t, env, "RAMPART_KEYVAULT_LISTEN_ADDR=fd:3")
	require.Equal(t, []string{"RAMPART_KEYVAULT_DATA_DIR=/d/keyvault-2"}, svcs[3].env)
	for _, kv := range env {
		require.False(t, strings.HasPrefix(kv, "RAMPART_EDGE_ADDR="), "nobody dials the edge over gRPC")
	}

	dir := t.TempDir()
	in := &infra{sockDir: "/s"}
	extra, err := haEnv(svcs, dir, in)
	require.NoError(t, err)
	require.Contains(t, extra, "RAMPART_REDIS_URL=unix:///s/redis.sock")
	require.Contains(t, extra, "RAMPART_KEYVAULT_KEY_DIR="+filepath.Join(dir, "shared", "keyvault"))
	require.Contains(t, extra, "RAMPART_INGESTION_DATABASE_URL=postgres://postgres@/rampart_ingestion?host=%2Fs&port=5432&sslmode=disable")
	require.Contains(t, svcs[7].env, "RAMPART_INGESTION_REPLICA=ingestion-2")

	path := filepath.Join(dir, "dev.env")
	es := edges(svcs)
	require.NoError(t, writeDevEnv(path, svcs, es[0].listenAddr, "/d/pki", "key", "t1", haDevEnv(in)))
	got, err := LoadEnvFile(dir)
	require.NoError(t, err)
	require.Equal(t, "http://"+es[0].listenAddr, got["RAMPART_URL"])
	require.Equal(t, "http://"+es[0].listenAddr+",http://"+es[1].listenAddr, got["RAMPART_URLS"])
	require.Equal(t, svcs[0].listenAddr+","+svcs[1].listenAddr, got["RAMPART_AUTH_ADDR"])
	require.Equal(t, "unix:///s/redis.sock", got["RAMPART_REDIS_URL"])
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// Without --ha nothing changes: one process per service under its own name.
func TestSingleStackKeepsItsNames(t *testing.T) {
	svcs := newServices(1)
	require.Len(t, svcs, 6)
	for _, sv := range svcs {
		require.Equal(t, sv.svc, sv.name)
		require.Zero(t, sv.replica)
	}
}

func TestNextPort(t *testing.T) {
	tests := []struct {
		addr string
		n    int
		want string
	}{
		{"127.0.0.1:8080", 1, "127.0.0.1:8081"},
		{"127.0.0.1:0", 1, "127.0.0.1:0"},
		{"[::1]:8080", 1, "[::1]:8081"},
		{"127.0.0.1:65535", 1, "127.0.0.1:0"},
		{"nonsense", 1, "127.0.0.1:0"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, nextPort(tt.addr, tt.n), tt.addr)
	}
}

// A machine without the servers gets told what to install.
func TestHAToolsSayWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, _, err := haTools()
	if _, ok := findPostgresBin(); ok { // found in /usr/lib/postgresql/*/bin
		require.ErrorContains(t, err, "apt-get install redis-server")
	} else {
		require.ErrorContains(t, err, "apt-get install postgresql")
	}
}

// With AnyPorts no process asks for a well-known port.
func TestAnyPortsAvoidsTheWellKnownPorts(t *testing.T) {
	svcs := newServices(2)
	defer closeSockets(svcs)
	for _, sv := range svcs {
		sv.anyPort = true
	}
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
	for _, sv := range svcs {
		for _, a := range []string{sv.listenAddr, sv.adminAddr} {
			_, port, err := net.SplitHostPort(a)
			require.NoError(t, err)
			p, err := strconv.Atoi(port)
			require.NoError(t, err)
			require.False(t, (p >= 7001 && p <= 7015) || (p >= 9001 && p <= 9016), "%s got well-known port %d", sv.name, p)
		}
	}
}
