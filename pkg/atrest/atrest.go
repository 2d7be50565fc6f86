package atrest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Files calls fn with the path (slash-separated, relative to dir) and the
// content of every regular file under dir, skipping files that vanish
// while it walks.
func Files(dir string, fn func(path string, data []byte)) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("atrest: %w", err)
	}
	defer root.Close()
	return FilesIn(root, fn)
}

// FilesIn is Files over an already opened root.
func FilesIn(root *os.Root, fn func(path string, data []byte)) error {
	return fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed after its directory was listed
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := root.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("atrest: %w", err)
		}
		fn(path, data)
		return nil
	})
}
