package testproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. A
// server started on it can still lose a race; callers retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port //nolint:errcheck,forcetypeassert // a "tcp" listener always has a *TCPAddr.
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// Command is exec.Command with the child tied to this process: on Linux it
// gets SIGKILL if the test binary dies, so no server outlives a crashed or
// killed test run.
func Command(path string, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = sysProcAttr()
	return cmd
}

// Process is a started child server whose output is captured.
type Process struct {
	cmd  *exec.Cmd
	out  *logtest.Buffer
	done chan struct{}
	err  error // valid after done is closed
}

// Start starts cmd with its stdout and stderr captured.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, out: &logtest.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Run runs cmd to completion and returns its combined output in the error
// if it fails.
func Run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, Tail(string(out), 40))
	}
	return nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitErr returns how the process ended; only meaningful after Exited.
func (p *Process) ExitErr() error { return p.err }

// Output returns the last lines of what the process printed.
func (p *Process) Output() string { return Tail(p.out.String(), 40) }

// Stop sends sig and waits up to timeout for the process to exit, then kills
// it. Stopping an exited process is a no-op.
func (p *Process) Stop(sig os.Signal, timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.cmd.Path, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", p.cmd.Path, err)
	}
	<-p.done
	return fmt.Errorf("%s did not stop within %s after %v; killed", p.cmd.Path, timeout, sig)
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
