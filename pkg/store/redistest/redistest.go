package redistest

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/store/internal/testproc"
)

const installHint = "redistest: redis-server not found on PATH; install it with: " +
	"apt-get install redis-server (Debian/Ubuntu), brew install redis (macOS)"

// Start starts a fresh redis-server for t and returns its address
// ("127.0.0.1:port"). It is stopped when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	candidates := append(testproc.PathDirs("redis-server"), "/usr/bin", "/usr/local/bin", "/opt/homebrew/bin")
	dir, ok := testproc.FindDir(candidates, "redis-server")
	if !ok {
		testproc.Missing(t, installHint)
		return ""
	}
	return startServer(t, filepath.Join(dir, "redis-server"), t.TempDir())
}

// startServer starts redis-server bin in work with extra arguments, on a
// free port (retried: a free port can be taken before redis binds it).
func startServer(t testing.TB, bin, work string, extra ...string) string {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := testproc.FreePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		addr, err := start(t, bin, work, port, extra)
		if err == nil {
			return addr
		}
		lastErr = err
	}
	t.Fatalf("redistest: %v", lastErr)
	return ""
}

func start(t testing.TB, bin, work string, port int, extra []string) (string, error) {
	t.Helper()
	cmd := testproc.Command(bin, append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", work,
		"--daemonize", "no",
		"--loglevel", "warning",
	}, extra...)...)
	cmd.Dir = work
	proc, err := testproc.Start(cmd)
	if err != nil {
		return "", err
	}
	stop := func() error { return proc.Stop(syscall.SIGTERM, 10*time.Second) }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitReady(proc, addr, 15*time.Second); err != nil {
		_ = stop()
		return "", err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("redistest: stop redis-server: %v\n%s", err, proc.Output())
		}
	})
	return addr, nil
}

// waitReady polls with PING until the server answers +PONG.
func waitReady(proc *testproc.Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = ping(addr); err == nil {
			return nil
		}
		select {
		case <-proc.Exited():
			return fmt.Errorf("redis-server exited during startup (%w):\n%s", proc.ExitErr(), proc.Output())
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server not ready after %s: %w\n%s", timeout, err, proc.Output())
		}
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
