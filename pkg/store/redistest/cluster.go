package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rampart-platform/rampart/pkg/store/internal/testproc"
)

// ClusterClient starts a cluster as StartCluster does and returns a
// client of it that has already loaded the slot map and connected to
// every master, closed when the test ends. Code under test bounds each
// Redis call tightly (a few hundred milliseconds, then a local fallback);
// on a loaded CI host a cold client's first call, which also fetches
// CLUSTER SLOTS and dials the node, can miss that bound and make a
// contract test fail for a reason the test is not about.
func ClusterClient(t testing.TB, masters int) *redis.ClusterClient {
	t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: StartCluster(t, masters)})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		return node.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("redistest: warming the cluster client: %v", err)
	}
	return client
}

// StartCluster starts a throwaway Redis Cluster of masters redis-servers
// (at least 3, no replicas) for t, each as Start's but with
// --cluster-enabled, joined with redis-cli --cluster create, and returns
// their addresses once every node reports cluster_state:ok. They are
// stopped when the test ends.
func StartCluster(t testing.TB, masters int) []string {
	t.Helper()
	candidates := append(testproc.PathDirs("redis-server"), "/usr/bin", "/usr/local/bin", "/opt/homebrew/bin")
	dir, ok := testproc.FindDir(candidates, "redis-server")
	if !ok {
		testproc.Missing(t, installHint)
		return nil
	}
	cli := filepath.Join(dir, "redis-cli")
	addrs := make([]string, masters)
	for i := range addrs {
		addrs[i] = startServer(t, filepath.Join(dir, "redis-server"), t.TempDir(),
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	// #nosec G204 -- redis-cli found next to redis-server, loopback addresses this test started.
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		for {
			info, err := command(addr, "CLUSTER INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("redistest: cluster node %s not ready: %v %q", addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

// command sends one inline command to addr and returns its bulk-string
// reply.
func command(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return "", err
	}
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
	if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
		return "", fmt.Errorf("%s answered %q", cmd, line)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}
