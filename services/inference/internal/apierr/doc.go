// Package apierr is the inference service's OpenAI-shaped domain error
// (type, code, param, message) on the platform's error vocabulary
// (pkg/grpcerr): each kind matches a grpcerr sentinel, an invalid
// parameter is a field violation named by its OpenAI parameter path
// (messages[0].role), and the OpenAI type and code travel as an ErrorInfo
// detail. grpcerr.ToStatus maps it like any other error; the edge maps the
// status back to OpenAI's error body in one place (internal/httperr).
// Messages never contain secrets or upstream response bodies.
package apierr
