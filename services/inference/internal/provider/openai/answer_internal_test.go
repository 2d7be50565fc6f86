package openai

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// answerCases are chat answers in the common shape and around it; for
// each, decodeAnswer must give what json.Unmarshal gives.
var answerCases = []struct {
	name string
	body string
	fast bool // read without json.Unmarshal
}{
	{"plain", `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23},"system_fingerprint":null}`, true},
	{"escapes", `{"choices":[{"message":{"content":"a\"b\\c\n\u00e9\ud83d\ude00 <&>"},"finish_reason":"stop"}]}`, true},
	{"null content and tool calls", `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":null}`, true},
	{"no usage", `{"choices":[{"message":{"content":"x"}}]}`, true},
	{"two choices", `{"choices":[{"message":{"content":"x"},"finish_reason":"stop"},{"message":{"content":"y"},"finish_reason":"length"}]}`, true},
	{"empty choices", `{"choices":[]}`, true},
	{"null choices", `{"choices":null}`, true},
	{"empty object", `{}`, true},
	{"whitespace", " \n{ \"choices\" : [ { \"message\" : { \"content\" : \"x\" } } ] } \n", true},
	{"nested unknowns", `{"x":{"choices":[1,2]},"choices":[{"message":{"content":"x","annotations":[{"a":{"b":[]}}]},"extra":[{}]}]}`, true},
	{"tool calls null", `{"choices":[{"message":{"content":"x","tool_calls":null}}]}`, true},
	{"usage extra", `{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}`, true},
	{"usage empty", `{"usage":{}}`, true},
	{"usage details", `{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":5},"completion_tokens_details":{"reasoning_tokens":6,"audio_tokens":7,"accepted_prediction_tokens":8,"rejected_prediction_tokens":9}}}`, true},
	{"usage details partial", `{"usage":{"completion_tokens_details":{"reasoning_tokens":6,"text_tokens":1},"prompt_tokens_details":{}}}`, true},
	{"usage details null", `{"usage":{"prompt_tokens_details":null,"completion_tokens_details":null}}`, true},
	{"usage details nested unknown", `{"usage":{"prompt_tokens_details":{"x":{"cached_tokens":[1]},"cached_tokens":2}}}`, true},

	{"case-folded name", `{"Choices":[{"message":{"content":"x"}}]}`, false},
	{"case-folded inner name", `{"choices":[{"Message":{"Content":"x"},"FINISH_REASON":"stop"}]}`, false},
	{"escaped name", `{"cho\u0069ces":[{"message":{"content":"x"}}]}`, false},
	{"duplicate choices", `{"choices":[{"message":{"content":"x"}}],"choices":[{"message":{"content":"y"}}]}`, false},
	{"duplicate content", `{"choices":[{"message":{"content":"x","content":"y"}}]}`, false},
	{"numeric content", `{"choices":[{"message":{"content":5}}]}`, false},
	{"null message", `{"choices":[{"message":null,"finish_reason":"stop"}]}`, false},
	{"null finish reason", `{"choices":[{"message":{"content":"x"},"finish_reason":null}]}`, false},
	{"null choice", `{"choices":[null]}`, false},
	{"invalid utf-8", "{\"choices\":[{\"message\":{\"content\":\"a\xffb\"}}]}", false},
	{"invalid utf-8 skipped", "{\"id\":\"a\xffb\",\"choices\":[]}", false},
	{"lone surrogate", `{"choices":[{"message":{"content":"\ud800"}}]}`, false},
	{"trailing data", `{"choices":[]} x`, false},
	{"two values", `{"choices":[]}{}`, false},
	{"not an object", `[]`, false},
	{"truncated", `{"choices":[{"message":{"content":"x"`, false},
	{"empty", ``, false},
	{"bad usage", `{"usage":{"prompt_tokens":"1"}}`, false},
	{"float usage", `{"usage":{"prompt_tokens":1.5}}`, false},
	{"null usage field", `{"usage":{"prompt_tokens":null}}`, false},
	{"usage details not an object", `{"usage":{"prompt_tokens_details":1}}`, false},
	{"usage details bad count", `{"usage":{"completion_tokens_details":{"reasoning_tokens":"1"}}}`, false},
	{"usage details null count", `{"usage":{"prompt_tokens_details":{"cached_tokens":null}}}`, false},
	{"usage details duplicate", `{"usage":{"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":{"audio_tokens":2}}}`, false},
	{"usage details duplicate count", `{"usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":2}}}`, false},
	{"usage details case-folded", `{"usage":{"Prompt_Tokens_Details":{"cached_tokens":1}}}`, false},
	{"usage details case-folded count", `{"usage":{"completion_tokens_details":{"Reasoning_Tokens":1}}}`, false},
	{"bad tool calls", `{"choices":[{"message":{"tool_calls":{}}}]}`, false},
	{"mismatched brackets", `{"choices":[}`, false},
}

func TestDecodeAnswerMatchesEncodingJSON(t *testing.T) {
	for _, tc := range answerCases {
		t.Run(tc.name, func(t *testing.T) {
			var fast upstreamCompletion
			require.Equal(t, tc.fast, fastAnswer([]byte(tc.body), &fast), "read without encoding/json")
			requireSameAnswer(t, []byte(tc.body))
		})
	}
}

// requireSameAnswer: decodeAnswer's result and error are json.Unmarshal's.
func requireSameAnswer(t *testing.T, b []byte) {
	t.Helper()
	var want, got upstreamCompletion
	wantErr := json.Unmarshal(b, &want)
	gotErr := decodeAnswer(b, &got)
	if wantErr != nil {
		require.EqualError(t, gotErr, wantErr.Error())
	} else {
		require.NoError(t, gotErr)
	}
	require.Equal(t, want, got)
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, tc := range answerCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(requireSameAnswer)
}

func BenchmarkDecodeAnswer(b *testing.B) {
	body := []byte(answerCases[0].body)
	for _, bc := range []struct {
		name   string
		decode func([]byte, *upstreamCompletion) error
	}{
		{"decodeAnswer", decodeAnswer},
		{"json.Unmarshal", func(b []byte, out *upstreamCompletion) error { return json.Unmarshal(b, out) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out upstreamCompletion
				if err := bc.decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
