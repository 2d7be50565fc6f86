package grpcerr

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// TenantErrorDomain is the google.rpc.ErrorInfo domain of auth's refusal
// of a tenant that is not active (ADR 0115): the reason says why.
const TenantErrorDomain = "auth.rampart.local"

// ErrorInfo reasons of TenantErrorDomain.
const (
	// ReasonTenantSuspended: a platform operator suspended the tenant; it
	// may be resumed.
	ReasonTenantSuspended = "TENANT_SUSPENDED"
	// ReasonTenantDeleted: the tenant is deleted and waits for its purge
	// (a purged tenant is NotFound).
	ReasonTenantDeleted = "TENANT_DELETED"
)

// TenantNotActiveError refuses work for a tenant that exists but is not
// active: FailedPrecondition with an ErrorInfo of TenantErrorDomain whose
// reason is ReasonTenantSuspended or ReasonTenantDeleted.
type TenantNotActiveError struct {
	Reason string
}

func (e *TenantNotActiveError) Error() string {
	if e.Reason == ReasonTenantDeleted {
		return "the tenant is deleted"
	}
	return "the tenant is suspended"
}

// Is makes errors.Is(err, ErrFailedPrecondition) true.
func (e *TenantNotActiveError) Is(target error) bool { return target == ErrFailedPrecondition }

// StatusDetails implements DetailedError.
func (e *TenantNotActiveError) StatusDetails() []protoadapt.MessageV1 {
	return TenantNotActiveDetails(e.Reason)
}

// TenantNotActiveDetails are the status details saying why a tenant's
// work is refused: an ErrorInfo of TenantErrorDomain with reason
// ReasonTenantSuspended or ReasonTenantDeleted. Auth also attaches them to
// the Unauthenticated answer to a right key of such a tenant (ADR 0123 §2).
func TenantNotActiveDetails(reason string) []protoadapt.MessageV1 {
	return []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: TenantErrorDomain}}
}

// TenantNotActive reports the reason of a refusal of a tenant that is not
// active: a *TenantNotActiveError in err's chain, or a FailedPrecondition
// (GetTenantLimits) or Unauthenticated (VerifyKey of a right key, ADR 0123
// §2) status from auth carrying its ErrorInfo. "" when err is neither.
func TenantNotActive(err error) string {
	var e *TenantNotActiveError
	if errors.As(err, &e) {
		return e.Reason
	}
	if c := status.Code(err); c != codes.FailedPrecondition && c != codes.Unauthenticated {
		return ""
	}
	if info, ok := Detail[*errdetails.ErrorInfo](err); ok && info.GetDomain() == TenantErrorDomain {
		return info.GetReason()
	}
	return ""
}
