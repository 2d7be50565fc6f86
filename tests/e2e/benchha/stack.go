package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// proc is a process we started; stop ends it (and only it).
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
}

func (p *proc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(name, bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...) //nolint:gosec // G204: our own freshly built binaries
	cmd.Env = append(devenv.Clean(), env...)
	buf := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: buf, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// build compiles the six services, the CLI and benchstack's fake upstream.
func build(root, binDir string) error {
	args := []string{"build", "-trimpath", "-o", binDir + "/"}
	for _, s := range []string{"auth", "keyvault", "inference", "ingestion", "slackadapter", "edge"} {
		args = append(args, "./services/"+s+"/cmd/"+s)
	}
	args = append(args, "./cmd/rampart", "./tests/e2e/benchstack/fakeupstream")
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as deploy/Dockerfile and `rampart dev` build them (ADR 0056)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	return nil
}

func waitFile(p string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 { //nolint:gosec // G304: our own work dir
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("%s not written within %s", p, d)
}

// startFake starts benchstack's instant OpenAI-compatible upstream.
func startFake(work, bin string) (*proc, string, error) {
	addrFile := filepath.Join(work, "up.addr")
	p, err := start("fakeupstream", filepath.Join(bin, "fakeupstream"), nil, "-addr-file", addrFile)
	if err != nil {
		return nil, "", err
	}
	addr, err := waitFile(addrFile, 30*time.Second)
	if err != nil {
		p.stop()
		return nil, "", fmt.Errorf("fakeupstream: %w\n%s", err, p.out.String())
	}
	return p, addr, nil
}

// stack is one running `rampart dev` (plain or --ha).
type stack struct {
	ha    bool
	dev   *proc
	dir   string
	env   map[string]string
	edges []string
	admin string
}

// writeModels writes the model registry benchstack uses: gpt-4o-mini on an
// openai upstream pointed at the fake, and the local models.
func writeModels(work, upAddr string) (string, error) {
	models := map[string]any{
		"upstreams": map[string]any{"fake": map[string]any{"type": "openai", "base_url": "http://" + upAddr + "/v1", "api_key_env": "BENCH_FAKE_UPSTREAM_KEY", "max_retries": -1}},
		"models": []any{
			map[string]any{"id": "gpt-4o-mini", "upstream": "fake", "upstream_model": "gpt-4o-mini"},
			map[string]any{"id": "rampart-extractive", "upstream": "local", "owned_by": "rampart"},
			map[string]any{"id": "rampart-hash-embed", "kind": "embedding", "upstream": "local", "owned_by": "rampart", "max_dimensions": 4096},
		},
		"default": map[string]any{"allowed_models": []string{"*"}},
	}
	mb, err := json.Marshal(models)
	if err != nil {
		return "", err
	}
	p := filepath.Join(work, "models.json")
	return p, os.WriteFile(p, mb, 0o600)
}

// startStack starts `rampart dev` (with --ha when ha) in its own data dir
// under work, the edge's rate limits out of the way (the limiter still
// runs on every request), and waits until it is up.
func startStack(work, bin, modelsPath string, ha bool) (*stack, error) {
	name := "sqlite"
	args := []string{"dev", "--any-ports", "--http-addr", "127.0.0.1:0", "--bin-dir", bin, "--start-timeout", "120s"}
	if ha {
		name = "ha"
		args = append(args, "--ha")
	}
	// As root, PostgreSQL runs as another account, which must traverse
	// the data dir's parents.
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o711); err != nil { //nolint:gosec // G301: traversable, not listable
		return nil, err
	}
	if err := os.Chmod(dir, 0o711); err != nil { //nolint:gosec // G302: traversable, not listable
		return nil, err
	}
	args = append(args, "--data-dir", filepath.Join(dir, "data"))
	dev, err := start("rampart dev "+name, filepath.Join(bin, "rampart"), []string{
		"RAMPART_INFERENCE_MODELS=" + modelsPath, "BENCH_FAKE_UPSTREAM_KEY=sk-fake-upstream",
		"RAMPART_EDGE_DEFAULT_KEY_RPM=1000000000", "RAMPART_EDGE_DEFAULT_TENANT_RPM=1000000000",
	}, args...)
	if err != nil {
		return nil, err
	}
	s := &stack{ha: ha, dev: dev, dir: dir}
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(dev.out.String(), "Rampart is up") {
		select {
		case <-dev.exited:
			return nil, fmt.Errorf("rampart dev %s exited during start-up:\n%s", name, dev.out.String())
		default:
		}
		if time.Now().After(deadline) {
			dev.stop()
			return nil, fmt.Errorf("rampart dev %s not up after 5m:\n%s", name, dev.out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	env, err := devenv.Read(filepath.Join(dir, "data", "dev.env"))
	if err != nil {
		dev.stop()
		return nil, err
	}
	s.env, s.admin = env, env["RAMPART_ADMIN_KEY"]
	s.edges = []string{env["RAMPART_URL"]}
	if urls := env["RAMPART_URLS"]; urls != "" {
		s.edges = strings.Split(urls, ",")
	}
	if s.admin == "" || s.edges[0] == "" {
		dev.stop()
		return nil, errors.New("dev.env has no RAMPART_ADMIN_KEY or RAMPART_URL")
	}
	if ha && (len(s.edges) != 2 || env["RAMPART_DEV_CONTROL_URL"] == "") {
		dev.stop()
		return nil, fmt.Errorf("--ha dev.env: want two edges and a control API, got %q", env["RAMPART_URLS"])
	}
	return s, nil
}

func (s *stack) stop() { s.dev.stop() }

// control calls the --ha stack's process API (kill -9, restart).
func (s *stack) control(method, path string) (map[string]any, error) {
	req, err := http.NewRequest(method, s.env["RAMPART_DEV_CONTROL_URL"]+path, nil) //nolint:noctx // bounded by the client's timeout
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.env["RAMPART_DEV_CONTROL_TOKEN"])
	c := http.Client{Timeout: 3 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, data)
	}
	return out, nil
}
