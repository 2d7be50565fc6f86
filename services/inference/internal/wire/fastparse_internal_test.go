package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fastChatCases: requests fastChat reads itself (fast) and requests it
// leaves to encoding/json; ParseChat's answer must be the same either way.
var fastChatCases = []struct {
	body string
	fast bool
}{
	{`{"model":"m","messages":[{"role":"user","content":"hi"}]}`, true},
	{`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Say \"hello\" \u00e9\ud83d\ude00\n","name":"bob"}],"temperature":0.2,"top_p":1,"max_tokens":64,"max_completion_tokens":5,"n":1,"stream":false,"user":"u","seed":-3,"frequency_penalty":0,"presence_penalty":-0.5,"parallel_tool_calls":true,"store":false,"logprobs":false}`, true},
	{` { "messages" : [ { "content" : null , "role" : "assistant" } , {"role":"tool","tool_call_id":"c1","content":""} ] , "model" : "m" } `, true},
	{`{"model":"m","messages":[]}`, true},
	{`{"model":"","messages":[{"role":"user","content":"hi"}]}`, true},
	{`{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, true},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":3}`, true},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}`, true},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, true},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}`, true},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`, true},
	{`{}`, true},

	{`{"Model":"m","messages":[{"role":"user","content":"hi"}]}`, false},
	{`{"model":"m","model":"n","messages":[{"role":"user","content":"hi"}]}`, false},
	{`{"model":"m","messages":[{"role":"user","role":"system","content":"hi"}]}`, false},
	{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`, false},
	{`{"model":"m","messages":[{"role":"user","content":5}]}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi","audio":1}]}`, false},
	{`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"best_of":2}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x"}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":null}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1.0}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":"5"}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":99999999999999999999}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1e400}`, false},
	{`{"model":"m","messages":null}`, false},
	{`{"model":"m","messages":[null]}`, false},
	{`{"model":5,"messages":[]}`, false},
	{"{\"model\":\"m\xff\",\"messages\":[]}", false},
	{`{"model":"\ud800","messages":[]}`, false},
	{`{"model":"m","messages":[]} {}`, false},
	{`{"model":"m","messages":[]}x`, false},
	{`[]`, false},
	{``, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a"]}}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, false},
	{`{"model":"m","messages":[{"role":"user","content":"hi"}],"metadata":{"a":"b"}}`, false},
}

func TestFastChatMatchesEncodingJSON(t *testing.T) {
	for _, tc := range fastChatCases {
		t.Run(tc.body, func(t *testing.T) {
			var r ChatRequest
			require.Equal(t, tc.fast, fastChat([]byte(tc.body), &r), "read without encoding/json")
			requireSameParse(t, []byte(tc.body))
		})
	}
}

// requireSameParse: ParseChat gives what encoding/json's path gives.
func requireSameParse(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := ParseChat(body)
	var want ChatRequest
	wantErr := decodeStrict(body, &want)
	if wantErr == nil {
		wantErr = want.Validate()
	}
	if wantErr != nil {
		require.Nil(t, got)
		require.Equal(t, wantErr, gotErr) // the same error, parameter included
		return
	}
	require.NoError(t, gotErr)
	require.Equal(t, &want, got)
}

func FuzzParseChatFast(f *testing.F) {
	for _, tc := range fastChatCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(requireSameParse)
}
