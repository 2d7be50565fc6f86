package grpcerr

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/protoadapt"
)

// Sentinel errors for domain code. Wrap them with context, e.g.
// fmt.Errorf("secret %q: %w", name, grpcerr.ErrNotFound): the wrapped message
// is what the caller sees, so write it for them.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrResourceExhausted  = errors.New("resource exhausted")
	ErrUnavailable        = errors.New("unavailable")
	ErrUnimplemented      = errors.New("unimplemented")
	ErrDeadlineExceeded   = errors.New("deadline exceeded")
	// ErrAborted: a concurrent change won (an etag that no longer
	// matches); the caller reads again and retries.
	ErrAborted = errors.New("aborted")
)

// InvalidError is an invalid-argument error naming the offending field, so
// the gateway can tell the client exactly what to fix.
type InvalidError struct {
	Field string // request field path, e.g. "name" or "limits.rpm"
	Msg   string // what is wrong, e.g. "must be at most 512 characters"
}

// Invalid returns an *InvalidError for field. It matches ErrInvalidArgument
// with errors.Is.
func Invalid(field, msg string) error { return &InvalidError{Field: field, Msg: msg} }

// Invalidf is Invalid with a formatted message.
func Invalidf(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalidArgument) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalidArgument }

// FieldError is implemented by a service's own domain error type when it
// names the offending request field (keyvault's vault.Error): ToStatus then
// lists it as a BadRequest field violation, like an *InvalidError. field is
// "" when the error names no field.
type FieldError interface {
	error
	InvalidField() (field, msg string)
}

// Sentinels maps a service's own error kinds to the sentinels above, so
// that its domain error type speaks grpcerr's vocabulary with one line:
//
//	func (e *Error) Is(target error) bool { return kindSentinels.Is(e.Kind, target) }
//
// A kind missing from the map (the internal one) matches no sentinel:
// ToStatus logs it and answers Internal.
type Sentinels[K comparable] map[K]error

// Is reports whether kind maps to target.
func (s Sentinels[K]) Is(kind K, target error) bool {
	sentinel, ok := s[kind]
	return ok && errors.Is(sentinel, target)
}

// DetailedError is implemented by a service's domain error that carries
// status details of its own beyond its code (from the sentinel it matches)
// and its field violations (FieldError): inference's OpenAI-shaped errors
// put the OpenAI type, code and parameter in a google.rpc.ErrorInfo of
// OpenAIErrorDomain and the retry delay in a RetryInfo. Such an error
// speaks for itself: ToStatus uses its own Error() as the status message,
// even when it is wrapped, and attaches its details.
type DetailedError interface {
	error
	StatusDetails() []protoadapt.MessageV1
}

// OpenAIErrorDomain is the google.rpc.ErrorInfo domain of OpenAI-shaped
// errors (inference, ADR 0007): reason is the OpenAI error code, metadata
// "type" the OpenAI error type and "param" the offending parameter. The
// edge reads it back into the OpenAI error body (internal/httperr).
const OpenAIErrorDomain = "openai.rampart.local"
