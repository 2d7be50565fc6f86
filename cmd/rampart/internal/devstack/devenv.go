package devstack

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// writeDevEnv writes dev.env (0600: it holds the admin key) atomically.
// With replicas (--ha) an address is the comma list of every replica's,
// RAMPART_URLS lists every edge (RAMPART_URL is the first), and extra adds
// the stack's PostgreSQL, Redis and control API settings.
func writeDevEnv(path string, svcs []*service, httpAddr, certDir, key, tenant string, extra []string) error {
	var b strings.Builder
	b.WriteString("# Written by `rampart dev`. Holds the bootstrap admin key: keep it private.\n")
	fmt.Fprintf(&b, "RAMPART_URL=http://%s\n", httpAddr)
	if es := edges(svcs); len(es) > 1 {
		urls := make([]string, len(es))
		for i, e := range es {
			urls[i] = "http://" + e.listenAddr
		}
		fmt.Fprintf(&b, "RAMPART_URLS=%s\n", strings.Join(urls, ","))
	}
	fmt.Fprintf(&b, "RAMPART_ADMIN_KEY=%s\n", key)
	fmt.Fprintf(&b, "RAMPART_TENANT_ID=%s\n", tenant)
	fmt.Fprintf(&b, "RAMPART_CA_DIR=%s\n", certDir)
	seen := map[string]bool{}
	for _, sv := range svcs {
		if sv.svc == "edge" || seen[sv.svc] {
			continue
		}
		seen[sv.svc] = true
		fmt.Fprintf(&b, "RAMPART_%s_ADDR=%s\n", sv.envName, joinAddrs(svcs, sv.svc, false))
	}
	clear(seen)
	for _, sv := range svcs {
		if seen[sv.svc] {
			continue
		}
		seen[sv.svc] = true
		fmt.Fprintf(&b, "RAMPART_%s_ADMIN_ADDR=%s\n", sv.envName, joinAddrs(svcs, sv.svc, true))
	}
	for _, kv := range extra {
		b.WriteString(kv + "\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write dev.env: %w", err)
	}
	return os.Rename(tmp, path)
}

// readDevEnv parses KEY=VALUE lines, ignoring comments and blanks.
func readDevEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseEnv(f)
}

// ParseEnv parses dev.env-style KEY=VALUE lines.
func ParseEnv(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("dev.env: malformed line %q", k)
		}
		out[k] = v
	}
	return out, sc.Err()
}

// LoadEnvFile reads dev.env from the data dir.
func LoadEnvFile(dataDir string) (map[string]string, error) {
	return readDevEnv(filepath.Join(dataDir, "dev.env"))
}

// printTryIt tells a newcomer how to reach the stack: the environment, two
// curl calls and, when the CLI was built beside the services (binDir), how
// to put it on PATH and ground a chat in a document.
func printTryIt(w io.Writer, envFile, httpAddr, binDir string) {
	fmt.Fprintf(w, `
Rampart is up. Environment for tools and tests: %s

Try it:
  set -a; . %s; set +a
  curl -s -H "Authorization: Bearer $RAMPART_ADMIN_KEY" http://%s/v1/whoami
  curl -s http://%s/v1/chat/completions -H "Authorization: Bearer $RAMPART_ADMIN_KEY" \
       -H 'Content-Type: application/json' \
       -d '{"model":"rampart-extractive","messages":[{"role":"user","content":"Rampart keeps secrets. What does Rampart keep?"}]}'
`, envFile, envFile, httpAddr, httpAddr)
	if _, err := os.Stat(filepath.Join(binDir, "rampart")); err == nil {
		fmt.Fprintf(w, `
The rampart CLI (same environment):
  export PATH="%s:$PATH"
  rampart collection create handbook
  rampart doc add -c handbook --wait README.md
  rampart chat -c handbook "What does make run start?"
`, binDir)
	}
	fmt.Fprint(w, "\nPress Ctrl-C to stop.\n")
}
