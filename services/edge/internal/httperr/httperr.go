package httperr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// Type is the OpenAI error type. By default it is derived from the HTTP
// status (TypeFor); an Error may carry an explicit one where OpenAI defines
// a specific type for the case (see Error.Type).
type Type string

// Error types, as in OpenAI's API.
const (
	TypeInvalidRequest Type = "invalid_request_error"
	TypeAuthentication Type = "authentication_error"
	TypePermission     Type = "permission_error"
	TypeNotFound       Type = "not_found_error"
	TypeRateLimit      Type = "rate_limit_error"
	TypeServer         Type = "server_error"
	// TypeInsufficientQuota is OpenAI's type (and code) for a spent budget.
	TypeInsufficientQuota Type = "insufficient_quota"
	// TypeRequests and TypeTokens are OpenAI's types for rate limits on
	// requests and on tokens per minute (code rate_limit_exceeded).
	TypeRequests Type = "requests"
	TypeTokens   Type = "tokens"
)

// knownTypes are the explicit types an Error may carry; anything else
// (for example an unexpected value from a backend) falls back to TypeFor.
var knownTypes = map[Type]bool{
	TypeInvalidRequest: true, TypeAuthentication: true, TypePermission: true, TypeNotFound: true,
	TypeRateLimit: true, TypeServer: true, TypeInsufficientQuota: true, TypeRequests: true, TypeTokens: true,
}

// Stable machine-readable codes used by the edge itself. Backends' messages
// are mapped onto the gRPC-code-derived codes in FromGRPC.
const (
	CodeMissingAPIKey      = "missing_api_key"
	CodeInvalidAPIKey      = "invalid_api_key"
	CodeInsufficientScope  = "insufficient_scope"
	CodeEndpointNotAllowed = "endpoint_not_allowed"
	CodeRateLimitExceeded  = "rate_limit_exceeded"
	CodeRequestTooLarge    = "request_too_large"
	CodeUnknownField       = "unknown_field"
	CodeInvalidJSON        = "invalid_json"
	CodeInvalidArgument    = "invalid_argument"
	CodeNotFound           = "not_found"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeInternal           = "internal_error"
	CodeUnavailable        = "service_unavailable"
)

// Error is one client-facing error. Param names the offending request field
// when there is one.
type Error struct {
	Status  int
	Code    string
	Message string
	Param   string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Type, when set to one of the known types, replaces the type derived
	// from Status (e.g. model_not_found is a 404 of type
	// invalid_request_error in OpenAI's API).
	Type Type
}

// OpenAIType is the type written for e: its explicit Type when that is a
// known OpenAI type, else TypeFor(status).
func (e *Error) OpenAIType() Type {
	if knownTypes[e.Type] {
		return e.Type
	}
	return TypeFor(e.Status)
}

// Error implements error so an *Error can travel through error returns.
func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// New returns an error with the given status, code and message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// WithParam returns a copy of e naming the offending field.
func (e *Error) WithParam(param string) *Error {
	c := *e
	c.Param = param
	return &c
}

// TypeFor returns the OpenAI error type for an HTTP status.
func TypeFor(status int) Type {
	switch {
	case status == http.StatusUnauthorized:
		return TypeAuthentication
	case status == http.StatusForbidden:
		return TypePermission
	case status == http.StatusNotFound:
		return TypeNotFound
	case status == http.StatusTooManyRequests:
		return TypeRateLimit
	case status >= 500:
		return TypeServer
	default:
		return TypeInvalidRequest
	}
}

type body struct {
	Error payload `json:"error"`
}

type payload struct {
	Message string  `json:"message"`
	Type    Type    `json:"type"`
	Param   *string `json:"param"`
	Code    string  `json:"code"`
}

// Write writes e as JSON. It sets Content-Type, Cache-Control and
// X-Content-Type-Options itself, so it is safe to call from any handler.
// A 401 also carries WWW-Authenticate.
func Write(w http.ResponseWriter, r *http.Request, e *Error) {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	msg := e.Message
	if status >= 500 && msg == "" {
		msg = http.StatusText(status)
	}
	if status == http.StatusInternalServerError && r != nil {
		if id := logging.RequestID(r.Context()); id != "" {
			msg = "internal error (request id " + id + ")"
		} else {
			msg = "internal error"
		}
	}
	var param *string
	if e.Param != "" {
		p := e.Param
		param = &p
	}
	code := e.Code
	if code == "" {
		code = defaultCode(status)
	}
	typ := TypeFor(status)
	if knownTypes[e.Type] && e.Status == status {
		typ = e.Type
	}
	buf, err := json.Marshal(body{Error: payload{Message: msg, Type: typ, Param: param, Code: code}})
	if err != nil { // cannot happen with these field types
		buf = []byte(`{"error":{"message":"internal error","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	buf = append(buf, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="rampart"`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

// WriteStatus is Write for an error without a param.
func WriteStatus(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	Write(w, r, &Error{Status: status, Code: code, Message: message})
}

func defaultCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidArgument
	case http.StatusUnauthorized:
		return CodeInvalidAPIKey
	case http.StatusForbidden:
		return "permission_denied"
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return CodeRequestTooLarge
	case http.StatusTooManyRequests:
		return CodeRateLimitExceeded
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	case http.StatusGatewayTimeout:
		return "deadline_exceeded"
	case http.StatusNotImplemented:
		return "not_implemented"
	default:
		if status >= 500 {
			return CodeInternal
		}
		return "bad_request"
	}
}
