package backend

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"success exits 0 silently", nil, 0, ""},
		{"an error is named and exits 1", errors.New("listen :8443: address in use"), 1, "keyvault: listen :8443: address in use\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			var gotArgs []string
			code := exitCode(t.Context(), "keyvault", func(_ context.Context, args []string) error {
				gotArgs = args
				return tt.err
			}, []string{"healthcheck", "--admin-addr", "x"}, &stderr)
			require.Equal(t, tt.wantCode, code)
			require.Equal(t, tt.wantStderr, stderr.String())
			require.Equal(t, []string{"healthcheck", "--admin-addr", "x"}, gotArgs, "arguments reach run unchanged")
		})
	}
}
