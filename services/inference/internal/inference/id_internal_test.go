package inference

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewIDShape: ids are the prefix and 24 base-62 characters (the shape
// wire.responseID accepts), and distinct.
func TestNewIDShape(t *testing.T) {
	shape := regexp.MustCompile(`^resp_[0-9A-Za-z]{24}$`)
	seen := map[string]bool{}
	for range 10000 {
		id := newID("resp_")
		require.Regexp(t, shape, id)
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
}
