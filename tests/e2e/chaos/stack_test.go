package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"

	"github.com/stretchr/testify/require"
)

// haStack is one running `rampart dev --ha`.
type haStack struct {
	dir    string
	env    map[string]string
	cmd    *exec.Cmd
	output *logtest.Buffer
	exited chan error
	edges  []string // base URLs, edge-1 first
}

// requireServers skips without PostgreSQL or redis-server, except in CI,
// where .ci/run installs them and a missing one is a failure.
func requireServers(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("redis-server"); err != nil {
		missing = append(missing, "redis-server")
	}
	if _, err := exec.LookPath("initdb"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) == 0 {
			missing = append(missing, "postgresql")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "the chaos test needs " + strings.Join(missing, " and ") + ": apt-get install " + strings.Join(missing, " ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startHA builds the binaries and starts `rampart dev --ha` in a fresh
// directory; the stack is stopped (and its directory removed when the
// test passed) at cleanup.
func startHA(t *testing.T) *haStack {
	t.Helper()
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	// Not t.TempDir: as root, PostgreSQL runs as another account, which
	// must traverse the data dir's parents (t.TempDir's are 0700).
	dir, err := os.MkdirTemp("", "rampart-chaos-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711)) //nolint:gosec // G302: traversable, not listable
	binDir := filepath.Join(dir, "bin")
	start := time.Now()
	build(t, root, binDir)
	t.Logf("binaries built in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()

	s := &haStack{dir: dir, output: &logtest.Buffer{}, exited: make(chan error, 1)}
	// --any-ports: a killed replica's port stays free until its restart;
	// another stack starting meanwhile (other e2e tests) must not want it.
	s.cmd = exec.Command(filepath.Join(binDir, "rampart"), "dev", "--ha", "--any-ports", //nolint:gosec // G204: our own binary
		"--data-dir", filepath.Join(dir, "data"), "--bin-dir", binDir, "--http-addr", "127.0.0.1:0",
		"--start-timeout", "120s")
	s.cmd.Env = devenv.Clean()
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
		if t.Failed() {
			t.Logf("stack data kept in %s; rampart dev said:\n%s", dir, s.output.String())
			return
		}
		_ = os.RemoveAll(dir)
	})
	require.NoError(t, s.waitUp(filepath.Join(dir, "data", "dev.env")))
	t.Logf("rampart dev --ha up in %s (PostgreSQL initialized, 12 services started one after the other)", time.Since(start).Round(time.Millisecond))
	return s
}

func build(t *testing.T, root, binDir string) {
	t.Helper()
	args := []string{"build", "-o", binDir + "/"}
	for _, svc := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		args = append(args, "./services/"+svc+"/cmd/"+svc)
	}
	args = append(args, "./cmd/rampart")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build binaries:\n%s", out)
}

func (s *haStack) waitUp(envPath string) error {
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case err := <-s.exited:
			return fmt.Errorf("rampart dev --ha exited during start-up: %w\n%s", err, s.output.String())
		case <-deadline:
			return fmt.Errorf("stack not up after 5m:\n%s", s.output.String())
		case <-time.After(200 * time.Millisecond):
		}
		if !strings.Contains(s.output.String(), "Rampart is up") {
			continue
		}
		env, err := devenv.Read(envPath)
		if err != nil {
			return err
		}
		s.env = env
		s.edges = strings.Split(env["RAMPART_URLS"], ",")
		if len(s.edges) != 2 || s.edges[0] != env["RAMPART_URL"] {
			return fmt.Errorf("dev.env: want two edges in RAMPART_URLS, the first being RAMPART_URL; got %q and %q",
				env["RAMPART_URLS"], env["RAMPART_URL"])
		}
		return nil
	}
}

// stop interrupts `rampart dev` like Ctrl-C and waits for a clean exit.
func (s *haStack) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("rampart dev exit: %w", err)
		}
		return nil
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("rampart dev did not stop within 60s")
	}
}

// control calls the dev stack's process API.
func (s *haStack) control(method, path string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, s.env["RAMPART_DEV_CONTROL_URL"]+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.env["RAMPART_DEV_CONTROL_TOKEN"])
	c := http.Client{Timeout: 3 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: %s: %w", method, path, data, err)
	}
	return resp.StatusCode, out, nil
}

// logsAbout returns the services' log lines that mention any of ids.
func (s *haStack) logsAbout(ids []string) string {
	if len(ids) == 0 {
		return "  (no request ids in the failures)\n"
	}
	files, _ := filepath.Glob(filepath.Join(s.dir, "data", "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // G304: the stack's own log files
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, id := range ids {
				if strings.Contains(line, id) {
					fmt.Fprintf(&b, "  %s: %s\n", filepath.Base(f), truncate(line, 1500))
					break
				}
			}
		}
	}
	return b.String()
}

var requestIDRe = regexp.MustCompile(`request id ([0-9a-f]{16,})`)

// requestIDs picks the edge's request ids out of error bodies.
func requestIDs(failures []string) []string {
	var ids []string
	for _, f := range failures {
		if m := requestIDRe.FindStringSubmatch(f); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}
