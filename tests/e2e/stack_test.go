package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"

	"github.com/stretchr/testify/require"
)

// stack is one running `rampart dev`, shared by the tests of this package.
type stack struct {
	dir     string
	env     map[string]string
	cmd     *exec.Cmd
	output  *logtest.Buffer
	exited  chan error
	baseURL string
}

var (
	stackOnce sync.Once
	shared    *stack
	stackErr  error
)

// startStack builds every binary once and runs `rampart dev` against them.
func startStack(t *testing.T) *stack {
	t.Helper()
	stackOnce.Do(func() { shared, stackErr = launch() })
	if stackErr != nil && shared == nil {
		stackErr = fmt.Errorf("start stack: %w", stackErr)
	}
	require.NoError(t, stackErr)
	return shared
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// buildBinaries compiles the six services and the CLI once per test run.
func buildBinaries() (string, error) {
	buildOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "rampart-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		buildErr = build(root, dir)
	})
	return binDir, buildErr
}

func launch() (*stack, error) { return launchEnv() }

// launchEnv starts a stack of its own with extra environment (RAMPART_*
// settings the children inherit).
func launchEnv(extra ...string) (*stack, error) {
	binDir, err := buildBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rampart-e2e-")
	if err != nil {
		return nil, err
	}
	return launchIn(binDir, dir, extra...)
}

// launchIn starts `rampart dev` on dir/data, which may hold an earlier
// stack's state.
func launchIn(binDir, dir string, extra ...string) (*stack, error) {
	s := &stack{dir: dir, output: &logtest.Buffer{}, exited: make(chan error, 1)}
	// Port 0: rampart dev binds the port and hands the socket to the edge,
	// so parallel suites never race for one; the URL comes from dev.env.
	s.cmd = exec.Command(filepath.Join(binDir, "rampart"), "dev",
		"--data-dir", filepath.Join(dir, "data"), "--bin-dir", binDir, "--http-addr", "127.0.0.1:0")
	s.cmd.Env = append(devenv.Clean(), extra...)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait() }()
	return s, s.waitUp(filepath.Join(dir, "data", "dev.env"))
}

func build(root, binDir string) error {
	args := []string{"build", "-o", binDir + "/"}
	for _, s := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		args = append(args, "./services/"+s+"/cmd/"+s)
	}
	args = append(args, "./cmd/rampart")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build binaries: %w\n%s", err, out)
	}
	return nil
}

// waitUp waits until `rampart dev` announces the stack and reads dev.env.
func (s *stack) waitUp(envPath string) error {
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case err := <-s.exited:
			return fmt.Errorf("rampart dev exited during start-up: %w\n%s", err, s.output.String())
		case <-deadline:
			_ = s.cmd.Process.Kill()
			return fmt.Errorf("stack not up after 3m:\n%s", s.output.String())
		case <-time.After(200 * time.Millisecond):
		}
		if strings.Contains(s.output.String(), "Rampart is up") {
			env, err := devenv.Read(envPath)
			if err != nil {
				return err
			}
			s.env = env
			if s.baseURL = env["RAMPART_URL"]; s.baseURL == "" {
				return fmt.Errorf("dev.env has no RAMPART_URL:\n%s", s.output.String())
			}
			return nil
		}
	}
}

// stop interrupts `rampart dev` like Ctrl-C and waits for a clean exit.
func (s *stack) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("rampart dev exit: %w\n%s", err, s.output.String())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("rampart dev did not stop within 30s")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the stack:", err)
			code = 1
		}
		if code == 0 {
			_ = os.RemoveAll(shared.dir)
		} else {
			fmt.Fprintln(os.Stderr, "e2e: stack data kept in", shared.dir)
		}
	}
	// The binaries (about 360 MB) go in any case: a run whose tests start
	// stacks of their own only (launchWith, launchIn) never set shared and
	// left them in the temp dir, enough runs to fill the disk.
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
