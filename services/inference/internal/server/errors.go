package server

import (
	"context"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// ErrorDomain is the ErrorInfo domain of inference errors.
const ErrorDomain = "openai.rampart.local"

var kindCodes = map[apierr.Kind]codes.Code{
	apierr.KindInternal:        codes.Internal,
	apierr.KindInvalid:         codes.InvalidArgument,
	apierr.KindNotFound:        codes.NotFound,
	apierr.KindPermission:      codes.PermissionDenied,
	apierr.KindRateLimited:     codes.ResourceExhausted,
	apierr.KindQuota:           codes.ResourceExhausted,
	apierr.KindUnavailable:     codes.Unavailable,
	apierr.KindTimeout:         codes.DeadlineExceeded,
	apierr.KindUnauthenticated: codes.Unauthenticated,
}

// toStatus maps an error to a gRPC status error: OpenAI-shaped domain
// errors get their details here, anything else goes to pkg/grpcerr.
func toStatus(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	e, ok := apierr.As(err)
	if !ok {
		// Everything that is not an OpenAI-shaped domain error goes through
		// the platform's one mapping (it logs and hides internal errors).
		return grpcerr.ToStatus(ctx, log, err)
	}
	st := status.New(kindCodes[e.Kind], e.Message)
	md := map[string]string{"type": e.Type}
	if e.Param != "" {
		md["param"] = e.Param
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.Code, Domain: ErrorDomain, Metadata: md}}
	if e.Kind == apierr.KindInvalid && e.Param != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: e.Param, Description: e.Message}}})
	}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	withDetails, derr := st.WithDetails(details...)
	if derr != nil {
		return st.Err()
	}
	return withDetails.Err()
}
