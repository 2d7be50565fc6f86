package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/keyvault/internal/vault"
)

func TestToStatus(t *testing.T) {
	cause := errors.New("sqlite: disk I/O error at /var/lib/keyvault/keyvault.db")
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantMsg    string
		wantFields []string
		wantLogged string // "" means nothing logged
	}{
		{"invalid field carries a field violation", fmt.Errorf("put: %w", vault.Invalidf("secret_string", "must be at most %d bytes", 65536)),
			codes.InvalidArgument, "secret_string: must be at most 65536 bytes", []string{"secret_string"}, ""},
		{"not found", vault.NotFoundf("secret %q not found", "db/password"), codes.NotFound, `secret "db/password" not found`, nil, ""},
		{"already exists", vault.AlreadyExistsf("secret %q already exists", "x"), codes.AlreadyExists, `secret "x" already exists`, nil, ""},
		{"failed precondition", vault.Preconditionf("version is not AWSCURRENT"), codes.FailedPrecondition, "version is not AWSCURRENT", nil, ""},
		{"permission denied", &vault.Error{Kind: vault.KindPermissionDenied, Msg: "caller may not read \"x\""}, codes.PermissionDenied, `caller may not read "x"`, nil, ""},
		{"unimplemented", vault.Unimplementedf("not offered by this backend"), codes.Unimplemented, "not offered by this backend", nil, ""},
		{"unavailable keeps its message, not its cause", vault.Unavailable("AWS unavailable; retry", cause), codes.Unavailable, "AWS unavailable; retry", nil, ""},
		{"internal hides and logs its cause", vault.Internal(cause), codes.Internal, "internal error", nil, "disk I/O error"},
		{"a foreign error is internal", cause, codes.Internal, "internal error", nil, "disk I/O error"},
		{"a downstream status is internal too", status.Error(codes.NotFound, "key k1"), codes.Internal, "internal error", nil, "key k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ctx := logging.WithRequestID(context.Background(), "req-7")
			err := toStatus(ctx, logging.New(&buf, slog.LevelDebug), tt.err)
			require.Equal(t, tt.wantCode, status.Code(err))
			require.Equal(t, tt.wantMsg, status.Convert(err).Message())
			var fields []string
			for _, v := range grpcerr.FieldViolations(err) {
				fields = append(fields, v.GetField())
			}
			require.Equal(t, tt.wantFields, fields)
			if tt.wantLogged == "" {
				require.Empty(t, buf.String())
			} else {
				require.Contains(t, buf.String(), tt.wantLogged)
				require.Contains(t, buf.String(), "req-7")
			}
		})
	}
	require.NoError(t, toStatus(context.Background(), slog.New(slog.DiscardHandler), nil))
}
