package vault

import (
	"errors"
	"fmt"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	pstore "github.com/rampart-platform/rampart/pkg/store"
	"github.com/rampart-platform/rampart/services/keyvault/internal/kms"
)

// Kind classifies domain errors.
type Kind int

// Error kinds.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindAlreadyExists
	KindFailedPrecondition
	KindPermissionDenied
	KindUnavailable
)

// Error is a domain error. Field names the offending request field for
// KindInvalid. Msg never contains secret material.
type Error struct {
	Kind  Kind
	Field string
	Msg   string
	Err   error // internal cause, logged, never returned to callers
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// kindSentinels are the pkg/grpcerr sentinels the kinds match, so that the
// platform's one mapping (grpcerr.ToStatus) gives each kind its code.
// KindInternal matches none: its cause is logged and hidden by the server.
var kindSentinels = grpcerr.Sentinels[Kind]{
	KindInvalid:            grpcerr.ErrInvalidArgument,
	KindNotFound:           grpcerr.ErrNotFound,
	KindAlreadyExists:      grpcerr.ErrAlreadyExists,
	KindFailedPrecondition: grpcerr.ErrFailedPrecondition,
	KindPermissionDenied:   grpcerr.ErrPermissionDenied,
	KindUnavailable:        grpcerr.ErrUnavailable,
	KindUnimplemented:      grpcerr.ErrUnimplemented,
}

// Is makes errors.Is(err, grpcerr.ErrNotFound) (and the other sentinels)
// true for the matching kind.
func (e *Error) Is(target error) bool { return kindSentinels.Is(e.Kind, target) }

// InvalidField names the offending request field of a KindInvalid error
// (grpcerr.FieldError), so the status carries it as a field violation.
func (e *Error) InvalidField() (field, msg string) {
	if e.Kind != KindInvalid {
		return "", ""
	}
	return e.Field, e.Msg
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Msg: fmt.Sprintf(format, args...)}
}

func precondition(format string, args ...any) *Error {
	return &Error{Kind: KindFailedPrecondition, Msg: fmt.Sprintf(format, args...)}
}

func internal(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, kms.ErrShredded) {
		return errShredded
	}
	if pstore.IsUnavailable(err) {
		// The database is unreachable or dropped the connection: nothing
		// was committed, and the pool reconnects once it is back.
		return &Error{Kind: KindUnavailable, Msg: "database unavailable; retry", Err: err}
	}
	return &Error{Kind: KindInternal, Msg: "internal error", Err: err}
}

// KindOf returns the kind of err (KindInternal for foreign errors).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// errShredded answers any use of a crypto-shredded tenant's keys.
var errShredded = &Error{Kind: KindFailedPrecondition, Msg: "the tenant's key has been destroyed; its data is unrecoverable"}

var errAuditFailed = &Error{Kind: KindUnavailable, Msg: "audit log unavailable; request refused"}
