package redistest_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/store/redistest"
)

// do sends one inline command and returns the first reply line.
func do(t *testing.T, r *bufio.Reader, c net.Conn, cmd string) string {
	t.Helper()
	_, err := c.Write([]byte(cmd + "\r\n"))
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	return strings.TrimRight(line, "\r\n")
}

func TestStart(t *testing.T) {
	t.Parallel()
	addr := redistest.Start(t)
	require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)

	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	r := bufio.NewReader(c)

	require.Equal(t, "+OK", do(t, r, c, "SET greeting hello"))
	require.Equal(t, "$5", do(t, r, c, "GET greeting"))
	require.Equal(t, "hello", do(t, r, c, ""))
	// Nothing is persisted to disk.
	require.Equal(t, "*2", do(t, r, c, "CONFIG GET save"))
	do(t, r, c, "")
	do(t, r, c, "")
	require.Equal(t, "$0", do(t, r, c, ""), `save is ""`)
}

func TestStartTwiceGivesIndependentServers(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, redistest.Start(t), redistest.Start(t))
}

// TestStartCluster: three masters that together serve every slot.
func TestStartCluster(t *testing.T) {
	addrs := redistest.StartCluster(t, 3)
	require.Len(t, addrs, 3)
	for _, addr := range addrs {
		require.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)
	}
	c, err := net.DialTimeout("tcp", addrs[0], time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	r := bufio.NewReader(c)
	require.True(t, strings.HasPrefix(do(t, r, c, "CLUSTER INFO"), "$"))
	info := map[string]string{}
	for len(info) < 8 {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		info[k] = v
	}
	require.Equal(t, "ok", info["cluster_state"])
	require.Equal(t, "16384", info["cluster_slots_assigned"])
	require.Equal(t, "3", info["cluster_known_nodes"])
}
