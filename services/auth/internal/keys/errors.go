package keys

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/protoadapt"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

// Domain errors are pkg/grpcerr sentinels (wrapped with a message written for
// the caller), so the boundary maps them in one place.
var (
	ErrNotFound      = grpcerr.ErrNotFound
	ErrPermission    = grpcerr.ErrPermissionDenied
	ErrAlreadyExists = grpcerr.ErrAlreadyExists
	ErrPrecondition  = grpcerr.ErrFailedPrecondition
	// ErrInvalidKey is the single answer to every failed verification.
	ErrInvalidKey error = invalidKeyError{}
)

type invalidKeyError struct{}

func (invalidKeyError) Error() string        { return "invalid api key" }
func (invalidKeyError) Is(target error) bool { return target == grpcerr.ErrUnauthenticated }

// keyOfTenantNotActiveError is ErrInvalidKey for a key that is right in
// every way (secret, state, expiry) but whose tenant is suspended or
// deleted: the same Unauthenticated "invalid api key", plus an ErrorInfo
// of grpcerr.TenantErrorDomain whose reason says which. Only one who holds
// the key's secret learns it; the edge answers its 401 as for any invalid
// key, the Slack adapter (which holds its tenants' adapter keys) tells a
// workspace's users that their tenant is suspended (ADR 0123 §2).
type keyOfTenantNotActiveError struct{ reason string }

func (keyOfTenantNotActiveError) Error() string { return ErrInvalidKey.Error() }
func (keyOfTenantNotActiveError) Is(target error) bool {
	return target == grpcerr.ErrUnauthenticated || target == ErrInvalidKey
}

// StatusDetails implements grpcerr.DetailedError.
func (e keyOfTenantNotActiveError) StatusDetails() []protoadapt.MessageV1 {
	return grpcerr.TenantNotActiveDetails(e.reason)
}

// InvalidArgumentError names the offending request field.
type InvalidArgumentError = grpcerr.InvalidError

func invalid(field, format string, args ...any) error {
	return grpcerr.Invalidf(field, format, args...)
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, ErrNotFound) }

// deniedError is ErrPermission with the reason alone as its message: the
// status code already says "permission denied", so the message need not
// ("403 permission_denied: only the platform admin creates tenants", not
// "…: permission denied: only the platform admin…").
type deniedError struct{ why string }

func (e deniedError) Error() string      { return e.why }
func (deniedError) Is(target error) bool { return target == ErrPermission }

func denied(why string) error { return deniedError{why} }

func deniedf(format string, args ...any) error { return deniedError{fmt.Sprintf(format, args...)} }

func precondition(why string) error { return fmt.Errorf("%w: %s", ErrPrecondition, why) }

// limitText states a limit in seconds, the unit of the request fields,
// with its reading in days or as a duration: "31536000 (365 days)".
func limitText(d time.Duration) string {
	secs := int64(d / time.Second)
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d (%d days)", secs, d/(24*time.Hour))
	}
	return fmt.Sprintf("%d (%s)", secs, d)
}
