package grpcerr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/logging"
)

func TestToStatus(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantCode   codes.Code
		wantMsg    string
		wantFields []string
		wantLogged bool
	}{
		{name: "nil", err: nil, wantCode: codes.OK},
		{name: "not found", err: fmt.Errorf("secret %q: %w", "/dev/x", grpcerr.ErrNotFound), wantCode: codes.NotFound, wantMsg: `secret "/dev/x": not found`},
		{name: "already exists", err: grpcerr.ErrAlreadyExists, wantCode: codes.AlreadyExists, wantMsg: "already exists"},
		{name: "invalid sentinel", err: fmt.Errorf("bad page token: %w", grpcerr.ErrInvalidArgument), wantCode: codes.InvalidArgument, wantMsg: "bad page token: invalid argument"},
		{name: "invalid field", err: grpcerr.Invalid("name", "must not be empty"), wantCode: codes.InvalidArgument, wantMsg: "name: must not be empty", wantFields: []string{"name"}},
		{
			name:       "several invalid fields",
			err:        fmt.Errorf("create key: %w", errors.Join(grpcerr.Invalid("ttl", "too long"), grpcerr.Invalidf("scopes[1]", "unknown scope %q", "x"))),
			wantCode:   codes.InvalidArgument,
			wantMsg:    "create key: ttl: too long\nscopes[1]: unknown scope \"x\"",
			wantFields: []string{"ttl", "scopes[1]"},
		},
		{name: "permission denied", err: grpcerr.ErrPermissionDenied, wantCode: codes.PermissionDenied, wantMsg: "permission denied"},
		{name: "unauthenticated", err: grpcerr.ErrUnauthenticated, wantCode: codes.Unauthenticated, wantMsg: "unauthenticated"},
		{name: "failed precondition", err: grpcerr.ErrFailedPrecondition, wantCode: codes.FailedPrecondition, wantMsg: "failed precondition"},
		{name: "resource exhausted", err: grpcerr.ErrResourceExhausted, wantCode: codes.ResourceExhausted, wantMsg: "resource exhausted"},
		{name: "unavailable", err: grpcerr.ErrUnavailable, wantCode: codes.Unavailable, wantMsg: "unavailable"},
		{name: "unimplemented", err: fmt.Errorf("rotation on this backend: %w", grpcerr.ErrUnimplemented), wantCode: codes.Unimplemented, wantMsg: "rotation on this backend: unimplemented"},
		{name: "a service's field error", err: fmt.Errorf("put: %w", fieldErr{"secret_string", "must not be empty"}), wantCode: codes.InvalidArgument, wantMsg: "put: secret_string: must not be empty", wantFields: []string{"secret_string"}},
		{name: "deadline sentinel", err: fmt.Errorf("upstream: %w", grpcerr.ErrDeadlineExceeded), wantCode: codes.DeadlineExceeded, wantMsg: "upstream: deadline exceeded"},
		{name: "aborted sentinel", err: fmt.Errorf("policy changed: %w", grpcerr.ErrAborted), wantCode: codes.Aborted, wantMsg: "policy changed: aborted"},
		{name: "deadline", err: fmt.Errorf("query: %w", context.DeadlineExceeded), wantCode: codes.DeadlineExceeded, wantMsg: "query: context deadline exceeded"},
		{name: "canceled", err: context.Canceled, wantCode: codes.Canceled, wantMsg: "context canceled"},
		{name: "status passes through", err: status.Error(codes.Unauthenticated, "missing principal assertion"), wantCode: codes.Unauthenticated, wantMsg: "missing principal assertion"},
		{name: "unknown error", err: errors.New("sql: database is locked at /var/lib/x.db"), wantCode: codes.Internal, wantMsg: "internal error", wantLogged: true},
		{name: "internal status is scrubbed", err: status.Error(codes.Internal, "pq: relation users does not exist"), wantCode: codes.Internal, wantMsg: "internal error", wantLogged: true},
		{name: "unknown status is scrubbed", err: status.Error(codes.Unknown, "panic: x"), wantCode: codes.Internal, wantMsg: "internal error", wantLogged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logging.New(&buf, slog.LevelDebug)
			ctx := logging.WithRequestID(context.Background(), "req-42")

			err := grpcerr.ToStatus(ctx, log, tt.err)
			require.Equal(t, tt.wantCode, status.Code(err))
			require.Equal(t, tt.wantCode, grpcerr.Code(tt.err))
			if tt.err == nil {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tt.wantMsg, status.Convert(err).Message())

			var fields []string
			for _, v := range grpcerr.FieldViolations(err) {
				fields = append(fields, v.GetField())
			}
			require.Equal(t, tt.wantFields, fields)

			if tt.wantLogged {
				require.Contains(t, buf.String(), `"request_id":"req-42"`)
				require.Contains(t, buf.String(), tt.err.Error(), "details go to the log")
			} else {
				require.Empty(t, buf.String())
			}
		})
	}
}

func TestInvalidIs(t *testing.T) {
	err := fmt.Errorf("wrap: %w", grpcerr.Invalid("name", "bad"))
	require.ErrorIs(t, err, grpcerr.ErrInvalidArgument)
	var inv *grpcerr.InvalidError
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "name", inv.Field)
}

func TestInterceptors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	unary := grpcerr.UnaryServerInterceptor(log)
	_, err := unary(context.Background(), nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) {
		return nil, errors.New("boom")
	})
	require.Equal(t, codes.Internal, status.Code(err))
	resp, err := unary(context.Background(), nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) {
		return "ok", nil
	})
	require.NoError(t, err)
	require.Equal(t, "ok", resp)

	stream := grpcerr.StreamServerInterceptor(log)
	err = stream(nil, fakeStream{}, &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error {
		return grpcerr.ErrNotFound
	})
	require.Equal(t, codes.NotFound, status.Code(err))
}

// fieldErr is a service's own invalid-argument error naming a field.
type fieldErr struct{ field, msg string }

func (e fieldErr) Error() string                     { return e.field + ": " + e.msg }
func (e fieldErr) Is(target error) bool              { return target == grpcerr.ErrInvalidArgument }
func (e fieldErr) InvalidField() (field, msg string) { return e.field, e.msg }

// TestDetailedError: a domain error carrying its own details keeps its
// message when wrapped, gets its code from its sentinel, and its details
// travel with the field violation.
func TestDetailedError(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelDebug)
	de := detailedErr{fieldErr: fieldErr{"messages[0].role", "Invalid value: 'robot'."}, retry: 3 * time.Second}
	err := grpcerr.ToStatus(context.Background(), log, fmt.Errorf("chat: %w", de))
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code())
	require.Equal(t, de.Error(), st.Message(), "the detailed error is the message, not its wrapper")
	info, ok := grpcerr.Detail[*errdetails.ErrorInfo](err)
	require.True(t, ok)
	require.Equal(t, "invalid_value", info.GetReason())
	require.Equal(t, grpcerr.OpenAIErrorDomain, info.GetDomain())
	retry, ok := grpcerr.Detail[*errdetails.RetryInfo](err)
	require.True(t, ok)
	require.Equal(t, 3*time.Second, retry.GetRetryDelay().AsDuration())
	require.Len(t, grpcerr.FieldViolations(err), 1)
	require.Equal(t, "messages[0].role", grpcerr.FieldViolations(err)[0].GetField())
	require.Empty(t, buf.String(), "a known error is not logged")
}

func TestDetail(t *testing.T) {
	withRetry, err := status.New(codes.Unavailable, "down").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}, &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Minute)})
	require.NoError(t, err)
	tests := []struct {
		name string
		err  error
		want time.Duration // 0: no RetryInfo
	}{
		{"the first of its type", withRetry.Err(), time.Second},
		{"a status without it", status.Error(codes.Unavailable, "down"), 0},
		{"not a status", errors.New("down"), 0},
		{"no error", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := grpcerr.Detail[*errdetails.RetryInfo](tt.err)
			require.Equal(t, tt.want != 0, ok)
			require.Equal(t, tt.want, r.GetRetryDelay().AsDuration())
		})
	}
}

// detailedErr is a service's domain error with details of its own.
type detailedErr struct {
	fieldErr
	retry time.Duration
}

func (e detailedErr) StatusDetails() []protoadapt.MessageV1 {
	return []protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: "invalid_value", Domain: grpcerr.OpenAIErrorDomain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(e.retry)},
	}
}

type fakeStream struct{ grpc.ServerStream }

func (fakeStream) Context() context.Context { return context.Background() }

func TestSentinels(t *testing.T) {
	type kind int
	const (
		internal kind = iota
		missing
	)
	s := grpcerr.Sentinels[kind]{missing: grpcerr.ErrNotFound}
	require.True(t, s.Is(missing, grpcerr.ErrNotFound))
	require.False(t, s.Is(missing, grpcerr.ErrInvalidArgument))
	require.False(t, s.Is(internal, grpcerr.ErrNotFound), "an unmapped kind matches nothing")
}
