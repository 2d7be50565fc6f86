package httperr

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// OpenAIErrorDomain is the google.rpc.ErrorInfo domain of OpenAI-shaped
// errors (inference, ADR 0007): reason is the OpenAI code, metadata "type"
// the OpenAI type and "param" the offending parameter.
const OpenAIErrorDomain = grpcerr.OpenAIErrorDomain

// unknownFieldRE matches protojson's "unknown field" decode error.
var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]{1,128})"`)

// StatusFromCode maps a gRPC code to the HTTP status the edge answers with.
func StatusFromCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.Canceled:
		return 499 // client closed the request (nginx convention)
	default: // Internal, Unknown, DataLoss
		return http.StatusInternalServerError
	}
}

func codeString(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return CodeInvalidArgument
	case codes.OutOfRange:
		return "out_of_range"
	case codes.FailedPrecondition:
		return "failed_precondition"
	case codes.Unauthenticated:
		return "unauthenticated"
	case codes.PermissionDenied:
		return "permission_denied"
	case codes.NotFound:
		return CodeNotFound
	case codes.AlreadyExists:
		return "already_exists"
	case codes.Aborted:
		return "aborted"
	case codes.ResourceExhausted:
		return "resource_exhausted"
	case codes.Unimplemented:
		return "not_implemented"
	case codes.Unavailable:
		return CodeUnavailable
	case codes.DeadlineExceeded:
		return "deadline_exceeded"
	case codes.Canceled:
		return "canceled"
	default:
		return CodeInternal
	}
}

// FromGRPC maps an error returned by a backend call (or by grpc-gateway's
// request decoding) to the client-facing error. Messages of Internal,
// Unknown, DataLoss, Unavailable and DeadlineExceeded statuses are replaced
// by generic text: they may carry addresses or internal detail.
func FromGRPC(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var hs *runtime.HTTPStatusError
	if errors.As(err, &hs) {
		e := FromGRPC(hs.Err)
		e.Status = hs.HTTPStatus
		if hs.HTTPStatus == http.StatusMethodNotAllowed {
			e.Code, e.Message = CodeMethodNotAllowed, "method not allowed on this path"
		}
		return e
	}
	st := status.Convert(err)
	c := st.Code()
	out := &Error{Status: StatusFromCode(c), Code: codeString(c), Message: st.Message()}
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) || strings.Contains(st.Message(), "http: request body too large") {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeRequestTooLarge, Message: "request body is too large"}
	}
	switch c {
	case codes.InvalidArgument:
		if e := bodyField(st.Message()); e != nil {
			return e
		}
		if e := queryParam(st.Message()); e != nil {
			return e
		}
		if m := unknownFieldRE.FindStringSubmatch(st.Message()); m != nil {
			return &Error{Status: http.StatusBadRequest, Code: CodeUnknownField, Param: m[1],
				Message: "unknown field \"" + m[1] + "\" in request body"}
		}
		if strings.HasPrefix(st.Message(), "proto:") || strings.Contains(st.Message(), "syntax error") || strings.Contains(st.Message(), "unexpected EOF") {
			out.Code = CodeInvalidJSON
			out.Message = "request body is not valid JSON for this endpoint: " + strings.TrimSpace(strings.TrimPrefix(st.Message(), "proto:"))
		}
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				out.Param = br.GetFieldViolations()[0].GetField()
				break
			}
		}
	case codes.Internal, codes.Unknown, codes.DataLoss:
		out.Message = "internal error"
	case codes.Unavailable:
		out.Message = "the service behind this route is unavailable; retry later"
	case codes.DeadlineExceeded:
		out.Message = "the service behind this route did not answer in time"
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			if d.GetRetryDelay() != nil {
				out.RetryAfter = d.GetRetryDelay().AsDuration()
			}
		case *errdetails.ErrorInfo:
			if d.GetDomain() != OpenAIErrorDomain {
				continue
			}
			if d.GetReason() != "" {
				out.Code = d.GetReason()
			}
			if p := d.GetMetadata()["param"]; p != "" {
				out.Param = p
			}
			out.Type = Type(d.GetMetadata()["type"])
		}
	}
	return out
}

// RetryAfterMsHeader is the wait in milliseconds, which OpenAI's SDKs
// (Node, Python, Go) read before Retry-After (ADR 0135 §5).
const RetryAfterMsHeader = "Retry-After-Ms"

// SetRetryAfter sets the Retry-After header (whole seconds, rounded up, at
// least 1) and Retry-After-Ms (milliseconds, rounded up, at least 1): the
// SDKs take the latter first, so a client refused for 20 ms waits 20 ms,
// not the second Retry-After rounds up to (ADR 0135 §5).
func SetRetryAfter(h http.Header, seconds float64) {
	h.Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(seconds)))))
	h.Set(RetryAfterMsHeader, strconv.FormatInt(int64(math.Max(1, math.Ceil(seconds*1000))), 10))
}

// GatewayErrorHandler returns grpc-gateway's error handler
// (runtime.WithErrorHandler): it writes through Write and logs server-side
// failures with the request id. bodyOf names the request field a route's
// JSON body is (google.api.http body, by full RPC method name: "" or "*"
// for the whole request); the error's field path is made relative to it
// (Error.RelativeTo), so param names the field as the client sent it.
func GatewayErrorHandler(log *slog.Logger, bodyOf func(rpcMethod string) string) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		e := FromGRPC(err)
		if method, ok := runtime.RPCMethod(ctx); ok && bodyOf != nil {
			e = e.RelativeTo(bodyOf(method))
		}
		write(ctx, log, w, r, err, e)
	}
}

// WriteGRPC maps err with FromGRPC, logs it when it is a server-side
// failure, and writes it.
func WriteGRPC(ctx context.Context, log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	write(ctx, log, w, r, err, FromGRPC(err))
}

// write logs e, mapped from err, when it is a server-side failure, and
// writes it.
func write(ctx context.Context, log *slog.Logger, w http.ResponseWriter, r *http.Request, err error, e *Error) {
	if e.Status >= 500 && log != nil {
		log.LogAttrs(ctx, slog.LevelError, "backend call failed",
			slog.String("path", r.URL.Path),
			slog.Int("status", e.Status),
			slog.String("grpc_code", status.Code(err).String()),
			slog.String("error", status.Convert(err).Message()))
	}
	if e.RetryAfter > 0 {
		SetRetryAfter(w.Header(), e.RetryAfter.Seconds())
	}
	Write(w, r, e)
}

// RoutingErrorHandler returns grpc-gateway's routing error handler
// (runtime.WithRoutingErrorHandler): unknown path → 404, wrong method → 405.
func RoutingErrorHandler() runtime.RoutingErrorHandlerFunc {
	return func(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
		switch httpStatus {
		case http.StatusNotFound:
			WriteStatus(w, r, http.StatusNotFound, CodeNotFound, "no route for "+r.Method+" "+r.URL.Path)
		case http.StatusMethodNotAllowed:
			WriteStatus(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
		default:
			WriteStatus(w, r, httpStatus, "", http.StatusText(httpStatus))
		}
	}
}
