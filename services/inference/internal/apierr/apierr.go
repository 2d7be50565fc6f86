package apierr

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// Kind is the class of failure; it decides the gRPC code and HTTP status.
type Kind int

// Kinds of failure.
const (
	KindInternal        Kind = iota // 500
	KindInvalid                     // 400 invalid_request_error
	KindNotFound                    // 404
	KindPermission                  // 403
	KindRateLimited                 // 429 rate_limit_exceeded
	KindQuota                       // 429 insufficient_quota
	KindUnavailable                 // 503 upstream down / overloaded
	KindTimeout                     // 504 upstream timed out
	KindUnauthenticated             // 401
)

// Error is an OpenAI-shaped error.
type Error struct {
	Kind       Kind
	Type       string // OpenAI error type, e.g. invalid_request_error
	Code       string // OpenAI error code, e.g. model_not_found
	Param      string // offending parameter, e.g. messages[0].role
	Message    string
	RetryAfter time.Duration // for KindRateLimited/KindQuota/KindUnavailable
	// Headers are response headers the edge writes with the error: a TPM
	// refusal's x-ratelimit-*-tokens (ADR 0096). They travel as metadata of
	// the ErrorInfo, beside "type" and "param".
	Headers map[string]string
	// Cause is what a provider saw when it is none of the client's
	// business (a transport or SDK error): the service logs it for the
	// operator, the client reads only Message.
	Cause error
}

// WithCause records the provider's own error for the operator's log.
func (e *Error) WithCause(err error) *Error {
	e.Cause = err
	return e
}

// Error is the message the client reads (OpenAI's error.message); the
// parameter travels separately (Param, the status's field violation).
func (e *Error) Error() string { return e.Message }

// kindSentinels are the pkg/grpcerr sentinels the kinds match, so that the
// platform's one mapping (grpcerr.ToStatus) gives each kind its gRPC code
// and the edge its HTTP status. KindInternal matches none: grpcerr logs it
// and answers Internal "internal error" (the edge writes the OpenAI
// server_error body).
var kindSentinels = grpcerr.Sentinels[Kind]{
	KindInvalid:         grpcerr.ErrInvalidArgument,
	KindNotFound:        grpcerr.ErrNotFound,
	KindPermission:      grpcerr.ErrPermissionDenied,
	KindRateLimited:     grpcerr.ErrResourceExhausted,
	KindQuota:           grpcerr.ErrResourceExhausted,
	KindUnavailable:     grpcerr.ErrUnavailable,
	KindTimeout:         grpcerr.ErrDeadlineExceeded,
	KindUnauthenticated: grpcerr.ErrUnauthenticated,
}

// Is makes errors.Is(err, grpcerr.ErrNotFound) (and the other sentinels)
// true for the matching kind.
func (e *Error) Is(target error) bool { return kindSentinels.Is(e.Kind, target) }

// InvalidField names the offending OpenAI parameter of a KindInvalid error
// (grpcerr.FieldError): the status lists it as a field violation.
func (e *Error) InvalidField() (field, msg string) {
	if e.Kind != KindInvalid {
		return "", ""
	}
	return e.Param, e.Message
}

// StatusDetails are the OpenAI type, code and parameter as an ErrorInfo of
// grpcerr.OpenAIErrorDomain, and the retry delay as a RetryInfo
// (grpcerr.DetailedError), with Headers in the ErrorInfo's metadata; the edge reads them back into OpenAI's body and
// Retry-After header.
func (e *Error) StatusDetails() []protoadapt.MessageV1 {
	md := map[string]string{"type": e.Type}
	if e.Param != "" {
		md["param"] = e.Param
	}
	maps.Copy(md, e.Headers)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: e.Code, Domain: grpcerr.OpenAIErrorDomain, Metadata: md}}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	return details
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	if err == nil {
		return nil, false // without the target errors.As would allocate
	}
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Invalid is a 400 naming param.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

// InvalidCode is a 400 with an explicit code.
func InvalidCode(code, param, format string, args ...any) *Error {
	e := Invalid(param, format, args...)
	e.Code = code
	return e
}

// ModelNotFound is the 404 OpenAI returns for an unknown model. It is also
// what a caller gets for a model another tenant has: no existence leak.
func ModelNotFound(model string) *Error {
	return &Error{Kind: KindNotFound, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)}
}

// ModelNotAllowed is the 403 for a model the tenant has but the key may not use.
func ModelNotAllowed(model string) *Error {
	return &Error{Kind: KindPermission, Type: "invalid_request_error", Code: "model_not_allowed", Param: "model",
		Message: fmt.Sprintf("This API key is not allowed to use the model `%s`.", model)}
}

// Forbidden is a 403 for a parameter the key's scopes do not allow.
func Forbidden(param, msg string) *Error {
	return &Error{Kind: KindPermission, Type: "invalid_request_error", Code: "insufficient_scope", Param: param, Message: msg}
}

// RateLimited is a 429 rate_limit_exceeded.
func RateLimited(msg string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindRateLimited, Type: "tokens", Code: "rate_limit_exceeded", Message: msg, RetryAfter: retryAfter}
}

// Quota is a 429 insufficient_quota.
func Quota(msg string) *Error {
	return &Error{Kind: KindQuota, Type: "insufficient_quota", Code: "insufficient_quota", Message: msg}
}

// Unavailable is a 503 for upstream failures (details are logged, not returned).
func Unavailable(msg string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindUnavailable, Type: "server_error", Code: "upstream_unavailable", Message: msg, RetryAfter: retryAfter}
}

// Timeout is a 504 for upstream timeouts.
func Timeout(msg string) *Error {
	return &Error{Kind: KindTimeout, Type: "server_error", Code: "upstream_timeout", Message: msg}
}

// Internal is a 500 whose message is generic; the cause is for logs only.
func Internal() *Error {
	return &Error{Kind: KindInternal, Type: "server_error", Code: "internal_error", Message: "The server had an error while processing your request."}
}
