package local_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/provider/local"
)

// validate checks instance against schema with a real JSON Schema validator.
func validate(t *testing.T, schema, instance string) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("schema.json", doc))
	s, err := c.Compile("schema.json")
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(instance))
	require.NoError(t, err, instance)
	require.NoError(t, s.Validate(v), instance)
}

func TestEchoStructuredOutput(t *testing.T) {
	schemas := []struct {
		name, schema string
	}{
		{"flat strict", `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":18},"tags":{"type":"array","items":{"type":"string"}},"ok":{"type":"boolean"}},"required":["name","age","tags","ok"],"additionalProperties":false}`},
		{"enum const nullable", `{"type":"object","properties":{"level":{"enum":["low","high"]},"v":{"const":3},"note":{"type":["string","null"]},"score":{"type":"number","exclusiveMaximum":-1}},"required":["level","v","note","score"],"additionalProperties":false}`},
		{"nested defs and formats", `{"type":"object","$defs":{"step":{"type":"object","properties":{"at":{"type":"string","format":"date-time"},"mail":{"type":"string","format":"email"},"short":{"type":"string","maxLength":3,"minLength":2}},"required":["at","mail","short"],"additionalProperties":false}},"properties":{"steps":{"type":"array","items":{"$ref":"#/$defs/step"},"minItems":2},"any":{"anyOf":[{"type":"integer"},{"type":"string"}]}},"required":["steps","any"],"additionalProperties":false}`},
		{"recursive", `{"type":"object","$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["label","children"],"additionalProperties":false}},"properties":{"root":{"$ref":"#/$defs/node"}},"required":["root"],"additionalProperties":false}`},
	}
	for _, tt := range schemas {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"echo","messages":[{"role":"user","content":"Ada Lovelace"}],"response_format":{"type":"json_schema","json_schema":{"name":"out","strict":true,"schema":` + tt.schema + `}}}`
			res := chat(t, local.Echo, body)
			require.Equal(t, "stop", res.FinishReason)
			validate(t, tt.schema, res.Content)
		})
	}
	t.Run("strings carry the message", func(t *testing.T) {
		res := chat(t, local.Echo, `{"model":"echo","messages":[{"role":"user","content":"Ada Lovelace"}],"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}`)
		require.JSONEq(t, `{"name":"Ada Lovelace"}`, res.Content)
	})
}

func TestEchoToolChoice(t *testing.T) {
	const params = `{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}},"required":["city","days"],"additionalProperties":false}`
	tools := `"tools":[{"type":"function","function":{"name":"weather","parameters":` + params + `}},{"type":"function","function":{"name":"noop"}}]`
	tests := []struct {
		name, message, choice string
		wantTool, wantArgs    string // "" = no tool call
	}{
		{"auto plain text answers", "Paris", `"auto"`, "", ""},
		{"auto with call message", `call:noop {"x":1}`, `"auto"`, "noop", `{"x":1}`},
		{"required calls the first tool", "Paris", `"required"`, "weather", ""},
		{"required keeps a requested call", `call:noop {}`, `"required"`, "noop", `{}`},
		{"named function", "Paris", `{"type":"function","function":{"name":"weather"}}`, "weather", ""},
		{"named function overrides call message", `call:noop {}`, `{"type":"function","function":{"name":"weather"}}`, "weather", ""},
		{"none never calls", `call:noop {}`, `"none"`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := json.Marshal(tt.message)
			require.NoError(t, err)
			res := chat(t, local.Echo, `{"model":"echo","messages":[{"role":"user","content":`+string(msg)+`}],`+tools+`,"tool_choice":`+tt.choice+`}`)
			if tt.wantTool == "" {
				require.Empty(t, res.ToolCalls)
				require.Equal(t, tt.message, res.Content)
				return
			}
			require.Len(t, res.ToolCalls, 1)
			require.Equal(t, "tool_calls", res.FinishReason)
			tc := res.ToolCalls[0]
			require.Equal(t, tt.wantTool, tc.Function.Name)
			if tt.wantArgs != "" {
				require.JSONEq(t, tt.wantArgs, tc.Function.Arguments)
			} else {
				validate(t, params, tc.Function.Arguments)
			}
		})
	}
}
