package grpcerr

import (
	"errors"
	"fmt"
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
