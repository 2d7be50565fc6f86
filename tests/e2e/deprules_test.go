package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The dependency rules (docs/architecture.md, "Dependency rules"). Lint
// (depguard in .golangci.yml) checks the imports of linted files; this test
// checks what lint cannot see: the go.mod requirements of every module and
// the imports of gen/, which lint skips as generated code. Both must change
// together.

const modPrefix = "github.com/rampart-platform/rampart/"

// allowedRequires is, per module directory, the rampart modules it may
// require. A module missing from this table fails the test, so a new module
// must be classified here.
var allowedRequires = map[string][]string{
	"gen":                   nil, // the leaf: generated API code only
	"pkg":                   {"gen"},
	"services/auth":         {"gen", "pkg"},
	"services/edge":         {"gen", "pkg"},
	"services/inference":    {"gen", "pkg"},
	"services/ingestion":    {"gen", "pkg"},
	"services/keyvault":     {"gen", "pkg"},
	"services/slackadapter": {"gen", "pkg"},
	"cmd/rampart":           {"gen", "pkg"},
	"tests/e2e":             {"gen", "pkg"},
}

// workModules returns the module directories listed in go.work, relative
// to the repository root.
func workModules(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.work"))
	require.NoError(t, err)
	defer f.Close()
	var mods []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if after, ok := strings.CutPrefix(line, "./"); ok {
			mods = append(mods, after)
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, mods, "go.work lists no modules")
	return mods
}

func TestDependencyRulesGoMod(t *testing.T) {
	t.Parallel()
	mods := workModules(t)
	require.ElementsMatch(t, mapKeys(allowedRequires), mods,
		"every module of go.work must be classified in allowedRequires")
	// No service module requires another service module, tests included:
	// a test double of a service lives in pkg/ (ADR 0043, ADR 0047).
	for dir, deps := range allowedRequires {
		for _, dep := range deps {
			require.False(t, strings.HasPrefix(dir, "services/") && strings.HasPrefix(dep, "services/"),
				"allowedRequires lets %s require %s: no service module requires another", dir, dep)
		}
	}

	for _, dir := range mods {
		out, err := exec.Command("go", "mod", "edit", "-json",
			filepath.Join(repoRoot, dir, "go.mod")).Output()
		require.NoError(t, err, dir)
		var gomod struct {
			Require []struct{ Path string }
		}
		require.NoError(t, json.Unmarshal(out, &gomod), dir)
		for _, r := range gomod.Require {
			dep, ok := strings.CutPrefix(r.Path, modPrefix)
			if !ok {
				continue
			}
			require.Contains(t, allowedRequires[dir], dep,
				"%s/go.mod requires %s: breaks the dependency rules (docs/architecture.md)", dir, r.Path)
		}
	}
}

// TestDependencyRulesImports checks the direct imports of every package
// (and of its tests) in the workspace. Lint checks the same for linted
// files; this covers gen/ and makes the rules hold without golangci-lint.
func TestDependencyRulesImports(t *testing.T) {
	t.Parallel()
	var patterns []string
	for _, dir := range workModules(t) {
		patterns = append(patterns, "./"+dir+"/...")
	}
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error"}, patterns...)...)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	require.NoError(t, err)

	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
			Error                              *struct{ Err string }
		}
		require.NoError(t, dec.Decode(&p))
		require.Nil(t, p.Error, "go list %s", p.ImportPath)
		n++
		for _, imp := range p.Imports {
			if why := importViolation(p.ImportPath, imp); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
		for _, imp := range append(p.TestImports, p.XTestImports...) {
			if why := importViolation(p.ImportPath, imp); why != "" {
				t.Errorf("%s (tests) import %s: %s", p.ImportPath, imp, why)
			}
		}
	}
	require.Greater(t, n, 50, "go list found too few packages")
}

// importViolation says why package from (or its tests: the rules are the
// same) may not import imp, or "".
func importViolation(from, imp string) string {
	src, ok := strings.CutPrefix(from, modPrefix)
	if !ok {
		return ""
	}
	dst, ok := strings.CutPrefix(imp, modPrefix)
	if !ok {
		if src == "services/edge" || strings.HasPrefix(src, "services/edge/") {
			for _, db := range []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/mattn/go-sqlite3"} {
				if imp == db || strings.HasPrefix(imp, db+"/") {
					return "the edge keeps no database (ADR 0022)"
				}
			}
		}
		return ""
	}
	srcTop, dstTop := area(src), area(dst)
	switch {
	case srcTop == "gen" && dstTop != "gen":
		return "gen/ is a leaf: it imports no other rampart module"
	case srcTop == "pkg" && (dstTop == "cmd" || strings.HasPrefix(dstTop, "services/")):
		return "pkg/ imports no service and no command"
	case (srcTop == "cmd" || srcTop == "tests") && dstTop != "gen" && dstTop != "pkg" && dstTop != srcTop:
		return "cmd/ and tests/e2e use the APIs (gen/) and pkg/ only"
	case strings.HasPrefix(srcTop, "services/") && dstTop == "cmd":
		return "services import no command"
	case strings.HasPrefix(srcTop, "services/") && strings.HasPrefix(dstTop, "services/") && dstTop != srcTop:
		return "no service imports another service's packages (tests included: test doubles live in pkg/)"
	case srcTop == "services/edge" && (dst == "pkg/store" || strings.HasPrefix(dst, "pkg/store/")) &&
		!strings.HasPrefix(dst, "pkg/store/redistest"):
		return "the edge keeps no database (ADR 0022)"
	}
	return ""
}

// area is the top of a rampart path: "gen", "pkg", "cmd", "tests" or
// "services/<name>".
func area(p string) string {
	parts := strings.SplitN(p, "/", 3)
	if parts[0] == "services" && len(parts) > 1 {
		return "services/" + parts[1]
	}
	return parts[0]
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func TestImportViolation(t *testing.T) {
	t.Parallel()
	const m = modPrefix
	for _, tc := range []struct {
		from, imp string
		bad       bool
	}{
		{m + "gen/go/rampart/auth/v1", m + "pkg/mtls", true},
		{m + "gen/go/rampart/auth/v1", m + "gen/go/rampart/common/v1", false},
		{m + "pkg/backend", m + "services/auth/internal/app", true},
		{m + "pkg/backend", m + "cmd/rampart", true},
		{m + "pkg/backend", m + "pkg/mtls", false},
		{m + "services/edge/internal/router", m + "services/auth/internal/store", true},
		{m + "services/edge/internal/openai", m + "services/inference/inferencetest", true},
		{m + "services/slackadapter/internal/server", m + "services/inference/internal/app", true},
		{m + "services/edge/internal/openai", m + "pkg/inferencetest", false},
		{m + "services/edge/internal/ratelimit", m + "pkg/store/redistest", false},
		{m + "services/edge/internal/ratelimit", m + "pkg/store", true},
		{m + "services/edge/internal/ratelimit", "modernc.org/sqlite", true},
		{m + "services/edge/internal/ratelimit", "github.com/jackc/pgx/v5", true},
		{m + "services/keyvault/internal/store", "github.com/jackc/pgx/v5", false},
		{m + "services/keyvault/internal/app", m + "services/keyvault/internal/vault", false},
		{m + "cmd/rampart", m + "services/auth/internal/app", true},
		{m + "tests/e2e", m + "services/keyvault/internal/app", true},
		{m + "tests/e2e", m + "gen/go/rampart/auth/v1", false},
	} {
		got := importViolation(tc.from, tc.imp)
		require.Equal(t, tc.bad, got != "", "%s -> %s: %q", tc.from, tc.imp, got)
	}
}
