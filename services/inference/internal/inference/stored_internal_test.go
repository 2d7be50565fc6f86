package inference

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
)

// mayRead: a stored response is readable by a key that could have made its
// request (ADR 0088).
func TestMayRead(t *testing.T) {
	grounded := &promptlog.ReaderNeeds{Search: true, Models: []string{"kb-assistant", "gpt-x"}}
	plain := &promptlog.ReaderNeeds{Models: []string{"gpt-x"}}
	for _, tc := range []struct {
		name   string
		caller Caller
		needs  *promptlog.ReaderNeeds
		want   bool
	}{
		{"stored before ADR 0088: the tenant's", Caller{AllowedModels: []string{"other"}}, nil, true},
		{"plain, any model", Caller{}, plain, true},
		{"plain, model allowed", Caller{AllowedModels: []string{"gpt-x"}}, plain, true},
		{"plain, model not allowed", Caller{AllowedModels: []string{"other"}}, plain, false},
		{"grounded, searching key", Caller{CanSearch: true}, grounded, true},
		{"grounded, key without ingest:read", Caller{}, grounded, false},
		{"grounded, assistant's name allowed", Caller{CanSearch: true, AllowedModels: []string{"kb-assistant"}}, grounded, true},
		{"grounded, answering model allowed", Caller{CanSearch: true, AllowedModels: []string{"gpt-x"}}, grounded, true},
		{"grounded, neither allowed", Caller{CanSearch: true, AllowedModels: []string{"other"}}, grounded, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mayRead(&tc.caller, promptlog.StoredResponse{Needs: tc.needs}))
		})
	}
}
