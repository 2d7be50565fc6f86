package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// procGrace is how long a stopped process of the run may take to exit.
const procGrace = 60 * time.Second

// startFake starts benchstack's instant OpenAI-compatible upstream.
func startFake(work, bin string) (*devenv.Proc, string, error) {
	addrFile := filepath.Join(work, "up.addr")
	p, err := devenv.Start("fakeupstream", filepath.Join(bin, "fakeupstream"), nil, "-addr-file", addrFile)
	if err != nil {
		return nil, "", err
	}
	addr, err := devenv.WaitFile(addrFile, 30*time.Second)
	if err != nil {
		p.Stop(procGrace)
		return nil, "", fmt.Errorf("fakeupstream: %w\n%s", err, p.Out.String())
	}
	return p, addr, nil
}

// stack is one running `rampart dev` (plain or --ha).
type stack struct {
	ha    bool
	dev   *devenv.Proc
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
	dev, err := devenv.Start("rampart dev "+name, filepath.Join(bin, "rampart"), []string{
		"RAMPART_INFERENCE_MODELS=" + modelsPath, "BENCH_FAKE_UPSTREAM_KEY=sk-fake-upstream",
		"RAMPART_EDGE_DEFAULT_KEY_RPM=1000000000", "RAMPART_EDGE_DEFAULT_TENANT_RPM=1000000000",
	}, args...)
	if err != nil {
		return nil, err
	}
	s := &stack{ha: ha, dev: dev, dir: dir}
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(dev.Out.String(), "Rampart is up") {
		select {
		case <-dev.Exited:
			return nil, fmt.Errorf("rampart dev %s exited during start-up:\n%s", name, dev.Out.String())
		default:
		}
		if time.Now().After(deadline) {
			dev.Stop(procGrace)
			return nil, fmt.Errorf("rampart dev %s not up after 5m:\n%s", name, dev.Out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	env, err := devenv.Read(filepath.Join(dir, "data", "dev.env"))
	if err != nil {
		dev.Stop(procGrace)
		return nil, err
	}
	s.env, s.admin = env, env["RAMPART_ADMIN_KEY"]
	s.edges = []string{env["RAMPART_URL"]}
	if urls := env["RAMPART_URLS"]; urls != "" {
		s.edges = strings.Split(urls, ",")
	}
	if s.admin == "" || s.edges[0] == "" {
		dev.Stop(procGrace)
		return nil, errors.New("dev.env has no RAMPART_ADMIN_KEY or RAMPART_URL")
	}
	if ha && (len(s.edges) != 2 || env["RAMPART_DEV_CONTROL_URL"] == "") {
		dev.Stop(procGrace)
		return nil, fmt.Errorf("--ha dev.env: want two edges and a control API, got %q", env["RAMPART_URLS"])
	}
	return s, nil
}

func (s *stack) stop() { s.dev.Stop(procGrace) }

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
