package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// The optional baseline of the secrets table (issue 15: "below OpenBao's in
// the same run"): HashiCorp Vault, OpenBao's upstream, in dev mode on
// loopback, when BENCH_VAULT names a `vault` binary. Vault is not a
// dependency of the repository and never runs in CI; docs/performance.md
// says what building one takes (ADR 0131).
//
// Dev mode serves plain HTTP (no TLS), keeps everything in memory and has no
// audit device; the second instance enables a file audit device before the
// secret is written, which is the fair comparison to keyvault, whose every
// read is audited before its answer.

// vaultEnv names the vault binary; unset, no baseline is measured.
const vaultEnv = "BENCH_VAULT"

// vaultSecretPath is the KV v2 secret the baseline reads (dev mode mounts
// KV v2 at secret/).
const vaultSecretPath = "/v1/secret/data/bench/token/one" //nolint:gosec // G101: a secret's path, not a credential

// vaultServer is one `vault server -dev` the harness started.
type vaultServer struct {
	name  string // the table's row name
	url   string // http://127.0.0.1:port
	token string // the dev root token, made up at start, never written anywhere
	proc  *devenv.Proc
}

// startVaults starts the baseline's two dev servers (without and with a file
// audit device) and writes the secret into each; none if BENCH_VAULT is
// unset.
func (h *harness) startVaults(value string) ([]*vaultServer, error) {
	bin := os.Getenv(vaultEnv)
	if bin == "" {
		return nil, nil
	}
	var out []*vaultServer
	for _, audited := range []bool{false, true} {
		v, err := h.startVault(bin, audited)
		if err != nil {
			return nil, err
		}
		if err := v.put(value); err != nil {
			return nil, fmt.Errorf("%s: write the bench secret: %w", v.name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// startVault starts `vault server -dev` on a free loopback port with a fresh
// random root token and, if audited, enables a file audit device in the run's
// work directory (removed with it).
func (h *harness) startVault(bin string, audited bool) (*vaultServer, error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	v := &vaultServer{name: "Vault dev (OpenBao's upstream; HTTP, no audit device)", url: "http://127.0.0.1:" + strconv.Itoa(port), token: "bench-" + hex.EncodeToString(tok)}
	if audited {
		v.name = "Vault dev + file audit device"
	}
	home := filepath.Join(h.work, "vault-"+strconv.Itoa(port))
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	// HOME in the work dir: nothing of the run lands in the user's home;
	// -dev-no-store-token keeps the token out of ~/.vault-token anyway.
	v.proc, err = devenv.Start(v.name, bin, []string{"HOME=" + home, "VAULT_LOG_LEVEL=error"},
		"server", "-dev", "-dev-no-store-token", "-dev-root-token-id="+v.token, "-dev-listen-address=127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	h.procs = append(h.procs, v.proc)
	if err := v.waitReady(30 * time.Second); err != nil {
		// Its output holds the root token: redacted, though it dies with the run.
		return nil, fmt.Errorf("%s: %w\n%s", v.name, err, strings.ReplaceAll(v.proc.Out.String(), v.token, "[REDACTED]"))
	}
	if audited {
		body := `{"type":"file","options":{"file_path":"` + filepath.Join(home, "audit.log") + `"}}`
		if err := v.call(http.MethodPut, "/v1/sys/audit/file", body, http.StatusNoContent); err != nil {
			return nil, fmt.Errorf("%s: enable the file audit device: %w", v.name, err)
		}
	}
	return v, nil
}

// freePort is a loopback port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}

// waitReady polls the unauthenticated health endpoint until the dev server
// is initialised and unsealed (200).
func (v *vaultServer) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(v.url + "/v1/sys/health") //nolint:gosec // G107: the harness's own loopback server
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-v.proc.Exited:
			return fmt.Errorf("exited before it was ready")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready within %s", d)
}

// put writes the bench secret (KV v2: {"data": {...}}).
func (v *vaultServer) put(value string) error {
	return v.call(http.MethodPost, vaultSecretPath, `{"data":{"value":"`+value+`"}}`, http.StatusOK)
}

func (v *vaultServer) call(method, path, body string, want int) error {
	req, err := http.NewRequest(method, v.url+path, bytes.NewReader([]byte(body))) //nolint:gosec // G704: the harness's own loopback server
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", v.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // G704: the harness's own loopback server
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %.200s", method, path, resp.StatusCode, b)
	}
	return nil
}

// target is the baseline's read with the load generator's shape (the same
// client as the REST read, the token as a bearer, which Vault accepts),
// CPU charged to the vault process.
func (v *vaultServer) target(client *http.Client, value string) *httpTarget {
	return &httpTarget{name: v.name, method: http.MethodGet, url: v.url + vaultSecretPath, auth: "Bearer " + v.token,
		want: value, client: client, cpu: []int{v.proc.Cmd.Process.Pid}, cpuNames: []string{"vault"}}
}
