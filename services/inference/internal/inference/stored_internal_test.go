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
	// a response on gpt-y continuing the grounded one (review 6)
	later := (&promptlog.ReaderNeeds{Models: []string{"gpt-y"}}).Continuing(grounded)
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
		{"later link, all allowed", Caller{CanSearch: true, AllowedModels: []string{"gpt-y", "gpt-x"}}, later, true},
		{"later link, any model", Caller{CanSearch: true}, later, true},
		{"later link, earlier link's search not allowed", Caller{AllowedModels: []string{"gpt-y", "gpt-x"}}, later, false},
		{"later link, only its own model allowed", Caller{CanSearch: true, AllowedModels: []string{"gpt-y"}}, later, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, mayRead(&tc.caller, tc.needs))
		})
	}
}

// Continuing: a later link keeps every earlier link's needs, once per
// distinct model set (a chain on one model stays one set).
func TestContinuing(t *testing.T) {
	first := &promptlog.ReaderNeeds{Search: true, Models: []string{"a"}}
	second := (&promptlog.ReaderNeeds{Models: []string{"b"}}).Continuing(first)
	require.Equal(t, &promptlog.ReaderNeeds{Search: true, Models: []string{"b"}, Earlier: [][]string{{"a"}}}, second)
	third := (&promptlog.ReaderNeeds{Models: []string{"a"}}).Continuing(second)
	require.Equal(t, &promptlog.ReaderNeeds{Search: true, Models: []string{"a"}, Earlier: [][]string{{"b"}}}, third)
	same := (&promptlog.ReaderNeeds{Models: []string{"b"}}).Continuing(second)
	require.Equal(t, second, same)
	legacy := (&promptlog.ReaderNeeds{Models: []string{"b"}}).Continuing(nil)
	require.Equal(t, &promptlog.ReaderNeeds{Models: []string{"b"}}, legacy, "a response stored before ADR 0088 adds nothing")
}
