package serve_test

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/serve"
)

func TestSetDefaultGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	tests := []struct {
		name    string
		gogc    string // "-" = unset
		percent int
		applied bool
		want    int
	}{
		{name: "default applied", gogc: "-", percent: 200, applied: true, want: 200},
		{name: "operator's GOGC wins", gogc: "50", percent: 200, applied: false, want: 100},
		{name: "GOGC=off wins too", gogc: "off", percent: 200, applied: false, want: 100},
		{name: "zero changes nothing", gogc: "-", percent: 0, applied: false, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			if tt.gogc != "-" {
				t.Setenv("GOGC", tt.gogc)
			} else {
				t.Setenv("GOGC", "")
				require.NoError(t, unsetenv("GOGC"))
			}
			require.Equal(t, tt.applied, serve.SetDefaultGCPercent(tt.percent))
			require.Equal(t, tt.want, debug.SetGCPercent(100))
		})
	}
}

// unsetenv removes key for the rest of the test (t.Setenv restores it).
func unsetenv(key string) error { return os.Unsetenv(key) }
