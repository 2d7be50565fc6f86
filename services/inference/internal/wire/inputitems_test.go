package wire_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// A stored conversation lists as OpenAI's input items: messages with
// input_text parts (output_text for the assistant), an assistant turn's
// tool calls as function_call items after its text, tool results as
// function_call_output; ids derived from the response id and position.
func TestInputItems(t *testing.T) {
	var conv []wire.Message
	require.NoError(t, json.Unmarshal([]byte(`[
		{"role":"user","content":"weather?"},
		{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
			{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"cold"},
		{"role":"assistant","content":"It is cold."}]`), &conv))
	items, err := wire.InputItems("resp_abc", conv)
	require.NoError(t, err)
	b, err := json.Marshal(items)
	require.NoError(t, err)
	require.JSONEq(t, `[
		{"id":"msg_abc_0","type":"message","status":"completed","role":"user","content":[{"type":"input_text","text":"weather?"}]},
		{"id":"fc_abc_1","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
		{"id":"fc_abc_2","type":"function_call","status":"completed","call_id":"call_2","name":"get_weather","arguments":"{\"city\":\"Rome\"}"},
		{"id":"fco_abc_3","type":"function_call_output","status":"completed","call_id":"call_1","output":"cold"},
		{"id":"msg_abc_4","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"It is cold.","annotations":[]}]}]`, string(b))
}
