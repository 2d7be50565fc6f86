package httperr_test

import (
	"testing"

	"github.com/stretchr/testify/require"

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
