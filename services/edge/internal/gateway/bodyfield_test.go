package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

func TestBodyField(t *testing.T) {
	for method, want := range map[string]string{
		"/rampart.inference.v1.InferenceService/CreateAssistant": "assistant",
		"/rampart.auth.v1.TenantService/UpdateTenantLimits":      "limits",
		"/rampart.auth.v1.KeyService/CreateKey":                  "*",
		"/rampart.auth.v1.KeyService/GetKey":                     "",
		"/rampart.auth.v1.KeyService/NoSuchMethod":               "",
		"/rampart.nope.v1.Nope/Get":                              "",
		"garbage":                                                "",
	} {
		require.Equal(t, want, BodyField(method), method)
	}
}

// failingConn answers every call with err.
type failingConn struct{ err error }

func (c failingConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return c.err
}

func (c failingConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, c.err
}

// invalid is a backend's InvalidArgument as pkg/grpcerr writes it: the
// message led by the field's path, and the path as a field violation.
func invalid(t *testing.T, field, msg string) error {
	t.Helper()
	return grpcerr.ToStatus(t.Context(), slog.New(slog.DiscardHandler), &grpcerr.InvalidError{Field: field, Msg: msg})
}

// TestFieldPathsAreRelativeToTheBody: on a route whose body is one field
// of the request (body: "assistant", body: "limits"), the error's param
// and message name the field as the client sent it, whether the gateway's
// decoder or the backend found it; on body: "*" routes and for path
// parameters nothing changes.
func TestFieldPathsAreRelativeToTheBody(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		backend                  error
		param, msg, code         string
	}{
		{"backend, body: assistant", http.MethodPost, "/v1/rampart/assistants", `{"name":"kb","collections":["a","b"]}`,
			invalid(t, "assistant.collections[1]", `"b" is not a collection of this tenant`),
			"collections[1]", `collections[1]: "b" is not a collection of this tenant`, "invalid_argument"},
		{"decoder, body: assistant", http.MethodPost, "/v1/rampart/assistants", `{"name":"kb","top_k":"three"}`, nil,
			"top_k", "top_k: must be a 32-bit integer", "invalid_argument"},
		{"decoder, unknown nested field", http.MethodPost, "/v1/keys", `{"name":"k","limits":{"rpm":1}}`, nil,
			"limits.rpm", `unknown field "limits.rpm" in request body`, "unknown_field"},
		{"backend, body: limits", http.MethodPut, "/v1/tenants/t1/limits", `{"requests_per_minute":-1}`,
			invalid(t, "limits.requests_per_minute", "must not be negative"),
			"requests_per_minute", "requests_per_minute: must not be negative", "invalid_argument"},
		{"backend, the body as a whole", http.MethodPut, "/v1/tenants/t1/limits", `{}`,
			invalid(t, "limits", "is required"), "", "request body: is required", "invalid_argument"},
		{"backend, a path parameter", http.MethodPut, "/v1/tenants/t1/limits", `{}`,
			invalid(t, "tenant_id", "must start with t_"), "tenant_id", "tenant_id: must start with t_", "invalid_argument"},
		{"backend, body: * keeps the request's path", http.MethodPost, "/v1/keys", `{"name":"k","limits":{"requests_per_minute":-1}}`,
			invalid(t, "limits.requests_per_minute", "must not be negative"),
			"limits.requests_per_minute", "limits.requests_per_minute: must not be negative", "invalid_argument"},
		{"a query parameter that does not parse", http.MethodGet, "/v1/keys?page_size=abc", "", nil,
			"page_size", "page_size: must be an integer (query parameter)", "invalid_argument"},
		{"not a field error", http.MethodPost, "/v1/rampart/assistants", `{"name":"kb"}`,
			status.Error(codes.PermissionDenied, "assistants need the admin scope"), "", "assistants need the admin scope", "permission_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := tt.backend
			if backend == nil {
				backend = status.Error(codes.Internal, "the decoder should have refused the body")
			}
			conn := failingConn{backend}
			mux := NewMux(slog.New(slog.DiscardHandler))
			require.NoError(t, Register(t.Context(), mux, Conns{Auth: conn, Keyvault: conn, Inference: conn, Ingestion: conn, SlackAdapter: conn}))
			req := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			var got struct {
				Error struct {
					Message string  `json:"message"`
					Param   *string `json:"param"`
					Code    string  `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got), rec.Body.String())
			param := ""
			if got.Error.Param != nil {
				param = *got.Error.Param
			}
			require.Equal(t, tt.param, param, rec.Body.String())
			require.Equal(t, tt.msg, got.Error.Message)
			require.Equal(t, tt.code, got.Error.Code)
		})
	}
}

// A status whose violation and message disagree in form still maps: the
// param from the violation, the message as sent when no path leads it.
func TestRelativeParamFromViolationOnly(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "collections must exist").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "assistant.collections[0]", Description: "missing"}}})
	require.NoError(t, err)
	mux := NewMux(slog.New(slog.DiscardHandler))
	conn := failingConn{st.Err()}
	require.NoError(t, Register(t.Context(), mux, Conns{Auth: conn, Keyvault: conn, Inference: conn, Ingestion: conn, SlackAdapter: conn}))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/rampart/assistants", strings.NewReader(`{"name":"kb"}`)))
	require.JSONEq(t, `{"error":{"message":"collections must exist","type":"invalid_request_error","param":"collections[0]","code":"invalid_argument"}}`, rec.Body.String())
}
