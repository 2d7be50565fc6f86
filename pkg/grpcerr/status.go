package grpcerr

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// InternalMessage is all a caller learns about an unexpected error.
const InternalMessage = "internal error"

var sentinels = []struct {
	err  error
	code codes.Code
}{
	{ErrNotFound, codes.NotFound},
	{ErrAlreadyExists, codes.AlreadyExists},
	{ErrInvalidArgument, codes.InvalidArgument},
	{ErrPermissionDenied, codes.PermissionDenied},
	{ErrUnauthenticated, codes.Unauthenticated},
	{ErrFailedPrecondition, codes.FailedPrecondition},
	{ErrResourceExhausted, codes.ResourceExhausted},
	{ErrUnavailable, codes.Unavailable},
	{ErrUnimplemented, codes.Unimplemented},
	{ErrDeadlineExceeded, codes.DeadlineExceeded},
	{ErrAborted, codes.Aborted},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{context.Canceled, codes.Canceled},
}

// Code returns the gRPC code err maps to, without logging.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.code
		}
	}
	if st, ok := status.FromError(err); ok {
		if st.Code() == codes.Unknown {
			return codes.Internal
		}
		return st.Code()
	}
	return codes.Internal
}

// ToStatus converts err into a gRPC status error for the caller. Known
// errors keep their message (and, for invalid arguments, a BadRequest detail
// listing every violated field); status errors pass through except
// Unknown/Internal ones; everything else is logged at error level with the
// method and request id and replaced by codes.Internal "internal error".
// A nil err returns nil.
func ToStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	code := Code(err)
	if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
		method, _ := grpc.Method(ctx)
		log.ErrorContext(ctx, "internal error", "method", method, "error", err)
		return status.Error(codes.Internal, InternalMessage)
	}
	var st *status.Status
	var details []protoadapt.MessageV1
	var de DetailedError
	switch s, ok := status.FromError(err); {
	case errors.As(err, &de):
		// A detailed domain error is the caller's message by itself.
		st, details = status.New(code, de.Error()), de.StatusDetails()
	case ok && !isSentinel(err):
		// Already a status (e.g. from a downstream call or an interceptor).
		st = s
	default:
		st = status.New(code, err.Error())
	}
	if code == codes.InvalidArgument {
		if v := violations(err); len(v) > 0 {
			details = append(details, &errdetails.BadRequest{FieldViolations: v})
		}
	}
	if len(details) > 0 {
		if withDetails, derr := st.WithDetails(details...); derr == nil {
			st = withDetails
		}
	}
	return st.Err()
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return true
		}
	}
	return false
}

// violations collects every *InvalidError in err's tree, so errors.Join of
// several field errors reports all of them at once.
func violations(err error) []*errdetails.BadRequest_FieldViolation {
	var out []*errdetails.BadRequest_FieldViolation
	var walk func(error)
	walk = func(e error) {
		// Walking the tree by hand is the point: errors.As stops at the first match.
		switch x := e.(type) { //nolint:errorlint // see above
		case nil:
			return
		case *InvalidError:
			out = append(out, &errdetails.BadRequest_FieldViolation{Field: x.Field, Description: x.Msg})
			return
		case FieldError:
			if field, msg := x.InvalidField(); field != "" {
				out = append(out, &errdetails.BadRequest_FieldViolation{Field: field, Description: msg})
				return
			}
			if u, ok := x.(interface{ Unwrap() error }); ok {
				walk(u.Unwrap())
			}
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// FieldViolations returns the BadRequest field violations carried by a
// status error, for clients such as the gateway.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			out = append(out, br.GetFieldViolations()...)
		}
	}
	return out
}

// Detail returns the first detail of type T (e.g. *errdetails.RetryInfo)
// that err's status carries, and false if it carries none.
func Detail[T any](err error) (T, bool) {
	var zero T
	st, ok := status.FromError(err)
	if !ok {
		return zero, false
	}
	for _, d := range st.Details() {
		if t, ok := d.(T); ok {
			return t, true
		}
	}
	return zero, false
}

// UnaryServerInterceptor maps every handler error through ToStatus, so a
// handler that forgets to cannot leak an internal error.
func UnaryServerInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil {
			return nil, ToStatus(ctx, log, err)
		}
		return resp, nil
	}
}

// StreamServerInterceptor is the streaming twin of UnaryServerInterceptor.
func StreamServerInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return ToStatus(ss.Context(), log, handler(srv, ss))
	}
}
