package devstack

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
)

// TestBaseServicesMatchConfig: rampart dev starts every service of
// pkg/config, on its conventions.md ports, with its environment prefix;
// a service added to pkg/config and not here fails this test, not a
// stack start (docs/adding-a-service.md, step 2).
func TestBaseServicesMatchConfig(t *testing.T) {
	t.Parallel()
	port := func(addr string) int {
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		n, err := strconv.Atoi(p)
		require.NoError(t, err)
		return n
	}
	names := make([]string, 0, len(baseServices))
	for _, sv := range baseServices {
		names = append(names, sv.svc)
		require.Equal(t, config.Prefix(sv.svc), "RAMPART_"+sv.envName+"_", sv.svc)
		require.Equal(t, port(config.DefaultAdminAddr(sv.svc)), sv.adminPort, "%s admin port", sv.svc)
		if sv.svc == "edge" { // its HTTP port is the stack's --http-addr
			require.Zero(t, sv.grpcPort)
			continue
		}
		require.Equal(t, port(config.DefaultAddr(sv.svc)), sv.grpcPort, "%s gRPC port", sv.svc)
	}
	require.ElementsMatch(t, config.Services(), names)
	require.Equal(t, "auth", names[0], "every backend fetches auth's signing keys at start")
	require.Equal(t, "edge", names[len(names)-1], "the edge dials every backend")
}
