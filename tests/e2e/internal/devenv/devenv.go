package devenv

import (
	"bufio"
	"bytes"
	"os"
	"strings"
)

// Clean is the inherited environment without RAMPART_* variables, so a
// developer's shell cannot point a test stack at something else.
func Clean() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RAMPART_") {
			out = append(out, kv)
		}
	}
	return out
}

// Read parses a dev.env file (KEY=value lines; blank lines and # comments
// skipped).
func Read(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}
