package testproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Missing reports that a server binary needed by the test is not installed:
// it skips the test with hint, or fails it when the environment variable CI
// is "true" (CI machines must have every dependency).
func Missing(t testing.TB, hint string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this fails instead of skipping)", hint)
		return
	}
	t.Skip(hint)
}

// FindDir returns the first directory among candidates that holds every one
// of names as an executable file.
func FindDir(candidates []string, names ...string) (string, bool) {
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		ok := true
		for _, n := range names {
			if !isExecutable(filepath.Join(dir, n)) {
				ok = false
				break
			}
		}
		if ok {
			return dir, true
		}
	}
	return "", false
}

// PathDirs returns the directory of name as found on PATH and, if that is a
// symlink, the directory of its target; nothing if name is not on PATH.
func PathDirs(name string) []string {
	p, err := exec.LookPath(name)
	if err != nil {
		return nil
	}
	dirs := []string{filepath.Dir(p)}
	if r, err := filepath.EvalSymlinks(p); err == nil && filepath.Dir(r) != dirs[0] {
		dirs = append(dirs, filepath.Dir(r))
	}
	return dirs
}

// VersionedDirs expands pattern (one "*" standing for a version, as in
// /usr/lib/postgresql/*/bin) and returns the matches, newest version first.
func VersionedDirs(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	before, _, _ := strings.Cut(pattern, "*")
	version := func(m string) int {
		v, _, _ := strings.Cut(strings.TrimPrefix(m, before), string(filepath.Separator))
		major, _, _ := strings.Cut(v, ".")
		n, _ := strconv.Atoi(major)
		return n
	}
	slices.SortFunc(matches, func(a, b string) int { return version(b) - version(a) })
	return matches
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
