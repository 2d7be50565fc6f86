package httperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

func withDetails(t *testing.T, c codes.Code, msg string, d ...*errdetails.BadRequest) error {
	t.Helper()
	st := status.New(c, msg)
	for _, x := range d {
		var err error
		st, err = st.WithDetails(x)
		require.NoError(t, err)
	}
	return st.Err()
}

func TestFromGRPC(t *testing.T) {
	retry, err := status.New(codes.ResourceExhausted, "quota").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
	require.NoError(t, err)
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		param      string
		msg        string
		retryAfter time.Duration
	}{
		{"invalid with field", withDetails(t, codes.InvalidArgument, "name: too long",
			&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "name", Description: "too long"}}}),
			400, "invalid_argument", "name", "name: too long", 0},
		{"unknown field from protojson", status.Error(codes.InvalidArgument, `proto: (line 1:13): unknown field "bogus"`),
			400, "unknown_field", "bogus", `unknown field "bogus" in request body`, 0},
		{"body field from the gateway's decoder", status.Error(codes.InvalidArgument, (&httperr.BodyFieldError{Field: `labels["a\"b"]`, Msg: "must be a string"}).Error()),
			400, "invalid_argument", `labels["a\"b"]`, `labels["a\"b"]: must be a string`, 0},
		{"syntax error", status.Error(codes.InvalidArgument, `proto: syntax error (line 1:9): unexpected token`),
			400, "invalid_json", "", "", 0},
		{"body too large", status.Error(codes.InvalidArgument, "http: request body too large"), 413, "request_too_large", "", "", 0},
		{"unauthenticated", status.Error(codes.Unauthenticated, "bad key"), 401, "unauthenticated", "", "bad key", 0},
		{"permission", status.Error(codes.PermissionDenied, "viewer cannot create keys"), 403, "permission_denied", "", "viewer cannot create keys", 0},
		{"not found", status.Error(codes.NotFound, "key not found"), 404, "not_found", "", "key not found", 0},
		{"exists", status.Error(codes.AlreadyExists, "dup"), 409, "already_exists", "", "dup", 0},
		{"precondition", status.Error(codes.FailedPrecondition, "tenant suspended"), 400, "failed_precondition", "", "tenant suspended", 0},
		{"exhausted", retry.Err(), 429, "resource_exhausted", "", "quota", 3 * time.Second},
		{"unavailable hides detail", status.Error(codes.Unavailable, "dial tcp 10.0.0.7:7002: refused"), 503, "service_unavailable", "", "the service behind this route is unavailable; retry later", 0},
		{"internal hides detail", status.Error(codes.Internal, "sql: db locked at /var/x"), 500, "internal_error", "", "internal error", 0},
		{"plain error", errors.New("boom"), 500, "internal_error", "", "internal error", 0},
		{"deadline", status.Error(codes.DeadlineExceeded, "x"), 504, "deadline_exceeded", "", "the service behind this route did not answer in time", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := httperr.FromGRPC(tt.err)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.code, e.Code)
			require.Equal(t, tt.param, e.Param)
			if tt.msg != "" {
				require.Equal(t, tt.msg, e.Message)
			}
			require.Equal(t, tt.retryAfter, e.RetryAfter)
		})
	}
}

func TestWriteShape(t *testing.T) {
	tests := []struct {
		e        *httperr.Error
		wantType string
		wantMsg  string
	}{
		{httperr.New(400, "invalid_argument", "name: required").WithParam("name"), "invalid_request_error", "name: required"},
		{httperr.New(401, "invalid_api_key", "no"), "authentication_error", "no"},
		{httperr.New(403, "insufficient_scope", "no"), "permission_error", "no"},
		{httperr.New(404, "not_found", "no"), "not_found_error", "no"},
		{httperr.New(429, "rate_limit_exceeded", "slow down"), "rate_limit_error", "slow down"},
		{httperr.New(500, "internal_error", "secret internal detail"), "server_error", "internal error (request id rid-1)"},
		{httperr.New(200, "", "not an error status"), "server_error", "internal error (request id rid-1)"},
		// Explicit types where OpenAI defines one for the case.
		{&httperr.Error{Status: 404, Code: "model_not_found", Type: httperr.TypeInvalidRequest, Message: "no such model"}, "invalid_request_error", "no such model"},
		{&httperr.Error{Status: 429, Code: "insufficient_quota", Type: httperr.TypeInsufficientQuota, Message: "budget"}, "insufficient_quota", "budget"},
		{&httperr.Error{Status: 429, Code: "rate_limit_exceeded", Type: httperr.TypeTokens, Message: "tpm"}, "tokens", "tpm"},
		{&httperr.Error{Status: 429, Code: "rate_limit_exceeded", Type: httperr.TypeRequests, Message: "rpm"}, "requests", "rpm"},
		// An unknown explicit type falls back to the status's.
		{&httperr.Error{Status: 403, Code: "x", Type: "made_up<script>", Message: "no"}, "permission_error", "no"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.e.Status, tt.e.Type), func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r = r.WithContext(logging.WithRequestID(r.Context(), "rid-1"))
			httperr.Write(rec, r, tt.e)
			var body map[string]map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			got := body["error"]
			require.Len(t, got, 4)
			require.Equal(t, tt.wantType, got["type"])
			require.Equal(t, tt.wantMsg, got["message"])
			if tt.e.Param != "" {
				require.Equal(t, tt.e.Param, got["param"])
			} else {
				require.Contains(t, got, "param")
				require.Nil(t, got["param"])
			}
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
}

// Inference's OpenAI errors carry code, type and param in an ErrorInfo of
// the OpenAI domain; other domains are not trusted for them.
func TestFromGRPCOpenAIErrorInfo(t *testing.T) {
	info := func(domain, reason string, md map[string]string) error {
		st, err := status.New(codes.ResourceExhausted, "spent").WithDetails(&errdetails.ErrorInfo{Domain: domain, Reason: reason, Metadata: md})
		require.NoError(t, err)
		return st.Err()
	}
	tests := []struct {
		name            string
		err             error
		typ, code, parm string
	}{
		{"quota", info(httperr.OpenAIErrorDomain, "insufficient_quota", map[string]string{"type": "insufficient_quota"}), "insufficient_quota", "insufficient_quota", ""},
		{"tokens", info(httperr.OpenAIErrorDomain, "rate_limit_exceeded", map[string]string{"type": "tokens"}), "tokens", "rate_limit_exceeded", ""},
		{"param", info(httperr.OpenAIErrorDomain, "model_not_found", map[string]string{"type": "invalid_request_error", "param": "model"}), "invalid_request_error", "model_not_found", "model"},
		{"other domain ignored", info("auth.rampart.local", "whatever", map[string]string{"type": "insufficient_quota"}), "rate_limit_error", "resource_exhausted", ""},
		{"unknown type falls back", info(httperr.OpenAIErrorDomain, "rate_limit_exceeded", map[string]string{"type": "bogus"}), "rate_limit_error", "rate_limit_exceeded", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := httperr.FromGRPC(tt.err)
			require.Equal(t, 429, e.Status)
			require.Equal(t, tt.code, e.Code)
			require.Equal(t, tt.parm, e.Param)
			require.Equal(t, httperr.Type(tt.typ), e.OpenAIType())

			rec := httptest.NewRecorder()
			httperr.Write(rec, httptest.NewRequest(http.MethodGet, "/", nil), e)
			var body map[string]map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, tt.typ, body["error"]["type"])
			require.Equal(t, tt.code, body["error"]["code"])
		})
	}
}

// TestSetRetryAfter: Retry-After in whole seconds rounded up (at least 1,
// as HTTP has no fraction) and Retry-After-Ms, which OpenAI's SDKs read
// first, in milliseconds rounded up (at least 1: the Node SDK takes 0 as
// absent) (ADR 0135 §5).
func TestSetRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		seconds float64
		after   string
		ms      string
	}{
		{0.02, "1", "20"},
		{0.0001, "1", "1"},
		{0, "1", "1"},
		{1, "1", "1000"},
		{6.5, "7", "6500"},
		{59.9991, "60", "60000"},
		{204, "204", "204000"},
	} {
		h := http.Header{}
		httperr.SetRetryAfter(h, tc.seconds)
		require.Equal(t, tc.after, h.Get("Retry-After"), "%v s", tc.seconds)
		require.Equal(t, tc.ms, h.Get("Retry-After-Ms"), "%v s", tc.seconds)
	}
}
