package apierr

import (
	"errors"
	"fmt"
	"time"
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
}

func (e *Error) Error() string {
	if e.Param != "" {
		return e.Message + " (param " + e.Param + ")"
	}
	return e.Message
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
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
