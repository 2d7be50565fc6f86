package httperr_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

func TestRelativeTo(t *testing.T) {
	tests := []struct {
		name, body, param, msg string
		wantParam, wantMsg     string
	}{
		{"under the body", "assistant", "assistant.top_k", "assistant.top_k: must be at most 50", "top_k", "top_k: must be at most 50"},
		{"list element", "assistant", "assistant.collections[2]", "assistant.collections[2]: not found", "collections[2]", "collections[2]: not found"},
		{"the body itself", "limits", "limits", "limits: is required", "", "request body: is required"},
		{"joined messages", "limits", "limits.requests_per_minute", "limits.requests_per_minute: negative\nlimits.tokens_per_minute: negative",
			"requests_per_minute", "requests_per_minute: negative\ntokens_per_minute: negative"},
		{"a path parameter", "limits", "tenant_id", "tenant_id: required", "tenant_id", "tenant_id: required"},
		{"a prefix that is not the field", "assistant", "assistants.x", "assistants.x: bad", "assistants.x", "assistants.x: bad"},
		{"message only", "limits", "", "limits.allowed_models[0]: \"m\" is not allowed", "", "allowed_models[0]: \"m\" is not allowed"},
		{"whole request", "*", "limits.requests_per_minute", "limits.requests_per_minute: bad", "limits.requests_per_minute", "limits.requests_per_minute: bad"},
		{"no body", "", "name", "name: bad", "name", "name: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &httperr.Error{Status: 400, Code: httperr.CodeInvalidArgument, Param: tt.param, Message: tt.msg}
			got := e.RelativeTo(tt.body)
			require.Equal(t, tt.wantParam, got.Param)
			require.Equal(t, tt.wantMsg, got.Message)
			require.Equal(t, tt.param, e.Param, "the original is not changed")
		})
	}
}

// grpc-gateway's error for a query parameter that does not parse names
// the parameter and what it must be, not the value or Go's parser.
func TestQueryParameterErrors(t *testing.T) {
	for _, tc := range []struct{ msg, param, text string }{
		{`parsing field "page_size": strconv.ParseInt: parsing "abc": invalid syntax`, "page_size", "page_size: must be an integer (query parameter)"},
		{`parsing field "page_size": strconv.ParseInt: parsing "99999999999": value out of range`, "page_size", "page_size: is out of range (query parameter)"},
		{`parsing field "platform": strconv.ParseBool: parsing "sk-secret": invalid syntax`, "platform", "platform: must be true or false (query parameter)"},
		{`parsing field "min_score": strconv.ParseFloat: parsing "x": invalid syntax`, "min_score", "min_score: must be a number (query parameter)"},
		{`parsing field "mode": "FUZZY" is not a valid value`, "mode", "mode: is not a valid value for this parameter (query parameter)"},
	} {
		e := httperr.FromGRPC(status.Error(codes.InvalidArgument, tc.msg))
		require.Equal(t, 400, e.Status)
		require.Equal(t, httperr.CodeInvalidArgument, e.Code)
		require.Equal(t, tc.param, e.Param)
		require.Equal(t, tc.text, e.Message)
	}
}
