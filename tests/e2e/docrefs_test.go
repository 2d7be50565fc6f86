package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Docs true to the code: every ADR reference in code, protos, deploy files
// and docs resolves to the record it means, and nothing points at
// documents outside the repository.

var (
	// "ADR 0016", "ADR-0016", "docs/adr/0016", "adr/0016-assistants.md".
	adrRef = regexp.MustCompile(`\bADR[- ]?([0-9]{1,4})\b|adr/([0-9]{4})(-[a-z0-9-]+\.md)?`)
	// [ADR 0022](adr/0022-where-state-lives.md): label and target agree.
	adrLink = regexp.MustCompile(`\[ADR[- ]?([0-9]{4})\]\(([^)#]*adr/([0-9]{4})[^)#]*)`)
	// Pointers at the design brief and requirement seeds kept outside this
	// repository; ADRs may quote the design they departed from.
	outsideRef = regexp.MustCompile(`\.\./shared/|/work/shared|shared/DESIGN|DESIGN\.md|DESIGN §|seeds/|\bseeds? (ADR|[0-9]{3}\b)`)
)

// textFiles returns the repository's hand-written text files (generated
// code, vendored third-party code and build output excluded).
func textFiles(t *testing.T) []string {
	t.Helper()
	skipDir := map[string]bool{".git": true, "bin": true, "gen": true, "third_party": true,
		"node_modules": true, ".rampart": true, "testdata": true}
	exts := map[string]bool{".go": true, ".md": true, ".proto": true, ".yaml": true, ".yml": true,
		".sql": true, ".sh": true, "": true}
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != repoRoot && skipDir[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if rel == filepath.Join("docs", "api", "openapi.json") || !d.Type().IsRegular() {
			return nil
		}
		if exts[filepath.Ext(path)] || d.Name() == "Makefile" {
			files = append(files, path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, len(files), 100, "walked too few files")
	return files
}

// adrFiles maps an ADR number ("0016") to its file name.
func adrFiles(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(repoRoot, "docs", "adr"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range ents {
		if n, _, ok := strings.Cut(e.Name(), "-"); ok && len(n) == 4 && strings.HasSuffix(e.Name(), ".md") {
			require.NotContains(t, out, n, "two ADRs numbered %s", n)
			out[n] = e.Name()
		}
	}
	require.NotEmpty(t, out)
	return out
}

func TestADRReferencesResolve(t *testing.T) {
	t.Parallel()
	adrs := adrFiles(t)
	index, err := os.ReadFile(filepath.Join(repoRoot, "docs", "adr", "README.md"))
	require.NoError(t, err)
	for n, name := range adrs {
		require.Contains(t, string(index), "| "+n+" | [", "docs/adr/README.md must list ADR %s", n)
		require.Contains(t, string(index), "]("+name+")", "docs/adr/README.md must link %s", name)
	}

	for _, path := range textFiles(t) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		text := string(data)
		for _, m := range adrRef.FindAllStringSubmatch(text, -1) {
			n, slug := m[1], m[3]
			if n == "" {
				n = m[2]
			}
			if len(n) < 4 {
				n = strings.Repeat("0", 4-len(n)) + n
			}
			name, ok := adrs[n]
			if !ok {
				t.Errorf("%s: %q names no ADR in docs/adr/", path, m[0])
				continue
			}
			if slug != "" && n+slug != name {
				t.Errorf("%s: %q: the ADR is %s", path, m[0], name)
			}
		}
		for _, m := range adrLink.FindAllStringSubmatch(text, -1) {
			if m[1] != m[3] {
				t.Errorf("%s: %q: label and link name different ADRs", path, m[0])
			}
			if strings.HasSuffix(path, ".md") {
				// The link target comes from a file of this repository; only stat'ed.
				if _, err := os.Stat(filepath.Join(filepath.Dir(path), m[2])); err != nil { //nolint:gosec // G703: see above
					t.Errorf("%s: link %q does not resolve: %v", path, m[2], err)
				}
			}
		}
	}
}

func TestNoReferencesOutsideRepository(t *testing.T) {
	t.Parallel()
	self := filepath.Join(repoRoot, "tests", "e2e", "docrefs_test.go")
	for _, path := range textFiles(t) {
		if path == self || strings.HasPrefix(path, filepath.Join(repoRoot, "docs", "adr")+string(filepath.Separator)) {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for i, line := range strings.Split(string(data), "\n") {
			if m := outsideRef.FindString(line); m != "" {
				t.Errorf("%s:%d: %q points at a document outside the repository; cite the ADR, README or docs/ page instead",
					path, i+1, m)
			}
		}
	}
}

// TestReadmeListsEveryPackage: the README's "Shared packages" table names
// every package directory of pkg/.
func TestReadmeListsEveryPackage(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	ents, err := os.ReadDir(filepath.Join(repoRoot, "pkg"))
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		n++
		require.Contains(t, string(readme), "| `pkg/"+e.Name()+"` |",
			"README.md's Shared packages table must describe pkg/%s", e.Name())
	}
	require.Greater(t, n, 10)
}
