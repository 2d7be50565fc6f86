package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPlainStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"grpcerr message keeps its own words", status.Error(codes.AlreadyExists, "already exists: already bootstrapped"),
			"already exists: already bootstrapped"},
		{"other message gets the code", status.Error(codes.Unavailable, "connection refused"),
			"Unavailable: connection refused"},
		{"wrapped", fmt.Errorf("bootstrap: %w", status.Error(codes.PermissionDenied, "permission denied: not the CLI")),
			"bootstrap: permission denied: not the CLI"},
		{"not a status", errors.New("no Rampart URL"), "no Rampart URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plainStatus(tt.err)
			require.EqualError(t, got, tt.want)
			require.NotContains(t, got.Error(), "rpc error")
		})
	}
	require.NoError(t, plainStatus(nil))
	require.Equal(t, "failed precondition", codeText(codes.FailedPrecondition))
}

// A mistyped verb of a group command fails with the root's kind of error,
// suggestions included, instead of printing the group's help and exiting 0.
func TestUnknownSubcommand(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr []string // substrings; nil: success
		wantOut string
	}{
		{args: []string{"key", "crete"}, wantErr: []string{`unknown command "crete" for "rampart key"`, "Did you mean this?\n\tcreate", "rampart key --help"}},
		{args: []string{"slack", "app", "sett"}, wantErr: []string{`unknown command "sett" for "rampart slack app"`, "\tset"}},
		{args: []string{"secret", "zzz"}, wantErr: []string{`unknown command "zzz" for "rampart secret"`}},
		{args: []string{"key"}, wantOut: "Available Commands:"},
		{args: []string{"bogus"}, wantErr: []string{`unknown command "bogus" for "rampart"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(context.Background(), tt.args, &out, &errOut)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Contains(t, out.String(), tt.wantOut)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, out.String(), "Available Commands:", "the group's help is not printed as if it succeeded")
		})
	}
}
