package vault

import (
	"context"
	"fmt"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
)

// This file exposes the service's guard rails (policy, audit, validation,
// error constructors) to alternative secret backends such as awssm, so that
// every backend enforces the same rules with the same errors.

// KindUnimplemented marks an operation a backend does not offer.
const KindUnimplemented Kind = 100

// Guard checks the access policy for action on name (auditing a denial).
func (s *Service) Guard(ctx context.Context, a Actor, action, name string) error {
	if a.Tenant == "" {
		return &Error{Kind: KindPermissionDenied, Msg: "no principal"}
	}
	if s.o.Policy.Allowed(policy.Request{Caller: a.Caller, Roles: a.Roles, Scopes: a.Scopes, Name: name, Action: action}) {
		return nil
	}
	s.o.Metrics.denied(action)
	if err := s.record(ctx, a, audit.Record{Action: action, Name: name, Result: audit.ResultDenied}); err != nil {
		return err
	}
	return &Error{Kind: KindPermissionDenied, Msg: fmt.Sprintf("caller may not %s %q", action, name)}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// Audit writes an audit record (fail-closed: its error fails the request).
func (s *Service) Audit(ctx context.Context, a Actor, r audit.Record) error {
	return s.record(ctx, a, r)
}

// AuditFailure records a failed operation and returns err (or the audit
// failure).
func (s *Service) AuditFailure(ctx context.Context, a Actor, action, name string, err error) error {
	return s.auditFailure(ctx, a, action, name, err)
}

// ValueHMAC is the audit HMAC of a value.
func (s *Service) ValueHMAC(v Value) string { return s.o.Hasher.HMAC(v.bytes()) }

// Bytes returns the value's bytes (string or binary).
func (v Value) Bytes() []byte { return v.bytes() }

// ValidateValue checks a value against the limits and its content type.
func ValidateValue(v *Value, secretContentType int) error { return validateValue(v, secretContentType) }

// ValidToken checks a client request token.
func ValidToken(t string) error { return validToken(t) }

// ValidStage checks a staging label.
func ValidStage(field, s string) error { return validStage(field, s) }

// ValidTags checks tags.
func ValidTags(tags []Tag) error { return validTags(tags) }

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) error { return notFound(format, args...) }

// Invalidf returns an InvalidArgument error naming field.
func Invalidf(field, format string, args ...any) error { return invalid(field, format, args...) }

// Preconditionf returns a FailedPrecondition error.
func Preconditionf(format string, args ...any) error { return precondition(format, args...) }

// Unavailable wraps a transient backend failure (the cause is logged, not
// returned).
func Unavailable(msg string, cause error) error {
	return &Error{Kind: KindUnavailable, Msg: msg, Err: cause}
}

// AlreadyExistsf returns an AlreadyExists error.
func AlreadyExistsf(format string, args ...any) error {
	return &Error{Kind: KindAlreadyExists, Msg: sprintf(format, args...)}
}

// Unimplementedf returns an Unimplemented error.
func Unimplementedf(format string, args ...any) error {
	return &Error{Kind: KindUnimplemented, Msg: sprintf(format, args...)}
}

// Internal wraps an unexpected error.
func Internal(err error) error { return internal(err) }
