package devstack

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two stacks binding at once must never share a port, and a busy
// well-known port falls back to a free one instead of failing.
func TestBindAddrsTwoStacksNeverShareAPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	busyAddr, ok := busy.Addr().(*net.TCPAddr)
	require.True(t, ok)
	busyPort := busyAddr.Port

	stacks := make([][]*service, 2)
	seen := map[string]string{}
	for i := range stacks {
		svcs := newServices(1)
		svcs[0].grpcPort = busyPort // auth's preferred port is taken
		stacks[i] = svcs
		defer closeSockets(svcs)
		require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
		for _, sv := range svcs {
			for _, a := range []string{sv.listenAddr, sv.adminAddr} {
				owner, dup := seen[a]
				require.False(t, dup, "%s given to %s and %s", a, owner, sv.name)
				seen[a] = fmt.Sprintf("stack %d %s", i, sv.name)
			}
		}
		require.NotEqual(t, busy.Addr().String(), svcs[0].listenAddr)
	}
	// The sockets are held (bound and listening) until handed over.
	c, err := net.Dial("tcp", stacks[1][0].listenAddr)
	require.NoError(t, err)
	_ = c.Close()
}

func TestBindAddrsRefusesABusyHTTPAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	svcs := newServices(1)
	defer closeSockets(svcs)
	err = bindAddrs(svcs, busy.Addr().String())
	require.ErrorContains(t, err, "edge HTTP address "+busy.Addr().String()+" is in use")
	require.ErrorContains(t, err, "--http-addr or RAMPART_HTTP_ADDR")
}

func TestStackEnvPointsChildrenAtInheritedSockets(t *testing.T) {
	svcs := newServices(1)
	defer closeSockets(svcs)
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
	env := stackEnv(svcs, "/d", "/d/pki")
	require.Contains(t, env, "RAMPART_AUTH_LISTEN_ADDR=fd:3")
	require.Contains(t, env, "RAMPART_AUTH_ADMIN_ADDR=fd:4")
	require.Contains(t, env, "RAMPART_HTTP_ADDR=fd:3")
	require.Contains(t, env, "RAMPART_AUTH_ADDR="+svcs[0].listenAddr, "clients dial the real address")
}

// TestStackEnvSlackRedirectIsThisEdge: the adapter's OAuth redirect base is
// the edge this stack listens on, unless the operator set a public URL.
func TestStackEnvSlackRedirectIsThisEdge(t *testing.T) {
	svcs := newServices(1)
	defer closeSockets(svcs)
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
	var edge string
	for _, sv := range svcs {
		if sv.svc == "edge" {
			edge = sv.listenAddr
		}
	}
	require.NotEmpty(t, edge)
	t.Setenv("RAMPART_SLACKADAPTER_PUBLIC_URL", "")
	require.Contains(t, stackEnv(svcs, "/d", "/d/pki"), "RAMPART_SLACKADAPTER_PUBLIC_URL=http://"+edge)
	t.Setenv("RAMPART_SLACKADAPTER_PUBLIC_URL", "https://rampart.example.com")
	for _, kv := range stackEnv(svcs, "/d", "/d/pki") {
		require.False(t, strings.HasPrefix(kv, "RAMPART_SLACKADAPTER_PUBLIC_URL="), "the operator's own value stays: %s", kv)
	}
}

// A port the supervisor picks (--any-ports, a busy dev port, an edge on
// 127.0.0.1:0) lies below the kernel's ephemeral range, where no ":0"
// listener or outgoing connection of another process can take it while a
// killed replica waits to be restarted on it.
func TestAnyPortIsOutsideTheEphemeralRange(t *testing.T) {
	low, ok := ephemeralLow()
	if !ok {
		t.Skip("no /proc/sys/net/ipv4/ip_local_port_range on this system: bindAnyPort falls back to a kernel-chosen port")
	}
	svcs := newServices(1)
	for _, sv := range svcs {
		sv.anyPort = true
	}
	defer closeSockets(svcs)
	require.NoError(t, bindAddrs(svcs, "127.0.0.1:0"))
	for _, sv := range svcs {
		for _, a := range []string{sv.listenAddr, sv.adminAddr} {
			_, p, err := net.SplitHostPort(a)
			require.NoError(t, err)
			port, err := strconv.Atoi(p)
			require.NoError(t, err)
			require.GreaterOrEqual(t, port, anyPortFloor, "%s %s", sv.name, a)
			require.Less(t, port, low, "%s %s is in the ephemeral range", sv.name, a)
		}
	}
}
