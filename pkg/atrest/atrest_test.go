package atrest_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/atrest"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.db"), []byte("alpha"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b.seg"), []byte("beta"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.db-shm"), []byte("gone"), 0o600))
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(dir, "link")))

	got := map[string]string{}
	var order []string
	err := atrest.Files(dir, func(path string, data []byte) {
		if path == "a.db" {
			// SQLite dropping its shared-memory file between the listing and
			// the read: skipped, not an error.
			require.NoError(t, os.Remove(filepath.Join(dir, "a.db-shm")))
		}
		got[path] = string(data)
		order = append(order, path)
	})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a.db": "alpha", "sub/b.seg": "beta"}, got, "regular files only; the vanished one skipped")
	require.True(t, sort.StringsAreSorted(order), "lexical order, as fs.WalkDir")

	require.Error(t, atrest.Files(filepath.Join(dir, "missing"), func(string, []byte) {}), "a data dir that does not exist is an error")
}
