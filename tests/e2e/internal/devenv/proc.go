package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
)

// Proc is a child process a harness started (rampart dev, a fake
// upstream, a load generator); Stop ends it, and only it.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	// Out collects its stdout and stderr.
	Out *logtest.Buffer
	// Exited is closed once the process has exited and been reaped.
	Exited chan struct{}
}

// Start starts bin with the Clean environment plus env, its output in Out.
func Start(name, bin string, env []string, args ...string) (*Proc, error) {
	cmd := exec.Command(bin, args...) //nolint:gosec // G204: the harness's own freshly built binaries
	cmd.Env = append(Clean(), env...)
	out := &logtest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, Out: out, Exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.Exited) }()
	return p, nil
}

// Stop interrupts the process like Ctrl-C and waits for it to exit,
// killing it after grace.
func (p *Proc) Stop(grace time.Duration) {
	_ = p.Cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.Exited:
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.Exited
	}
}

// WaitFile waits up to d for path to hold something (the address a child
// writes once it listens) and returns it, trimmed.
func WaitFile(path string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 { //nolint:gosec // G304: the harness's own work dir
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("%s not written within %s", path, d)
}

// Build compiles the six services, the CLI and the harness's extra
// packages (e.g. ./tests/e2e/benchstack/fakeupstream) from the repository
// root into binDir, static as deploy/Dockerfile and `rampart dev` build
// them (ADR 0056).
func Build(root, binDir string, extra ...string) error {
	args := []string{"build", "-trimpath", "-o", binDir + "/"}
	for _, s := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		args = append(args, "./services/"+s+"/cmd/"+s)
	}
	args = append(args, "./cmd/rampart")
	cmd := exec.Command("go", append(args, extra...)...) //nolint:gosec // G204: fixed package paths
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	return nil
}
