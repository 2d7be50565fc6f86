package toolpolicy_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/toolpolicy"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

func fn(name string) wire.Tool {
	return wire.Tool{Type: "function", Function: wire.ToolFunction{Name: name}}
}

func call(name, args string) wire.ToolCall {
	return wire.ToolCall{ID: "c-" + name, Type: "function", Function: wire.ToolCallFunction{Name: name, Arguments: args}}
}

func TestAnyFunctionAndRefusalMessages(t *testing.T) {
	var f toolpolicy.File
	require.NoError(t, json.Unmarshal([]byte(`{
	  "default": {"any_function": true, "tools": [{"name": "search", "schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]},
	  "tenants": {
	    "strict": {"tools": [{"name": "search"}, {"name": "other"}], "keys": {"k-narrow": ["search"]}}
	  }
	}`), &f))
	p, err := toolpolicy.New(&f)
	require.NoError(t, err)

	t.Run("any_function allows unlisted tools", func(t *testing.T) {
		s := p.For("t-dev", "k1")
		_, err := s.CheckDefinitions([]wire.Tool{fn("get_weather"), fn("search")})
		require.NoError(t, err)
		got := s.FilterCalls([]wire.ToolCall{call("get_weather", `{"city":"Paris"}`), call("get_weather", `[1]`), call("search", `{}`)},
			[]wire.Tool{fn("get_weather"), fn("search")})
		require.Len(t, got.Allowed, 1, "only the object-argument call of the unlisted tool passes")
		require.Len(t, got.Stripped, 2)
		require.Equal(t, "arguments must be a JSON object", got.Stripped[0].Reason)
		require.Contains(t, got.Stripped[1].Reason, "schema", "listed tools keep their schema")
	})
	t.Run("tenant policy refusal names the policy, not the key", func(t *testing.T) {
		_, err := p.For("strict", "k1").CheckDefinitions([]wire.Tool{fn("search"), fn("get_weather")})
		e, ok := apierr.As(err)
		require.True(t, ok)
		require.Equal(t, "tools[1].function.name", e.Param)
		require.Contains(t, e.Message, "tenant's tool policy")
		require.NotContains(t, e.Message, "API key")
	})
	t.Run("key narrowing says so", func(t *testing.T) {
		_, err := p.For("strict", "k-narrow").CheckDefinitions([]wire.Tool{fn("other")})
		e, ok := apierr.As(err)
		require.True(t, ok)
		require.Contains(t, e.Message, "not for this API key")
	})
	t.Run("no policy denies everything", func(t *testing.T) {
		empty, err := toolpolicy.New(nil)
		require.NoError(t, err)
		_, err = empty.For("t", "k").CheckDefinitions([]wire.Tool{fn("x")})
		e, ok := apierr.As(err)
		require.True(t, ok)
		require.Equal(t, "tool_not_allowed", e.Code)
	})
}

// The policy `rampart dev` ships (cmd/rampart) must load and allow the
// function tools SDK examples offer against the local models.
func TestDevStackPolicy(t *testing.T) {
	f, err := toolpolicy.Load("../../../../cmd/rampart/internal/devstack/devtools.json")
	require.NoError(t, err)
	p, err := toolpolicy.New(f)
	require.NoError(t, err)
	s := p.For("any-tenant", "any-key")
	_, err = s.CheckDefinitions([]wire.Tool{fn("get_weather"), fn("extract_person"), fn("delete_file")})
	require.NoError(t, err)
	got := s.FilterCalls([]wire.ToolCall{call("extract_person", `{"name":"Ada"}`), call("get_weather", `{"town":"Paris"}`), call("delete_file", `{"path":"/tmp/x"}`)},
		[]wire.Tool{fn("get_weather"), fn("extract_person"), fn("delete_file")})
	require.Len(t, got.Allowed, 1)
	require.Equal(t, "extract_person", got.Allowed[0].Function.Name)
	require.Len(t, got.Stripped, 1, "get_weather's schema still applies")
	require.Len(t, got.Confirm, 1)
}
