package wire_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// A client sends an answer's message back as it came (the SDKs' examples
// push completion.choices[0].message): its refusal is the assistant
// turn's text when it has none, and nothing of it stays on the message
// (nor goes upstream or into a stored conversation).
func TestAnswerMessageSentBack(t *testing.T) {
	r, err := wire.ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"},` +
		`{"role":"assistant","content":null,"refusal":"I can't help with that.","annotations":[]},` +
		`{"role":"assistant","content":"kept","refusal":"ignored"},{"role":"user","content":"why?"}]}`))
	require.NoError(t, err)
	require.Equal(t, "I can't help with that.", r.Messages[1].Content.Text)
	require.Equal(t, "kept", r.Messages[2].Content.Text)
	for _, m := range r.Messages {
		require.Nil(t, m.AnswerFields)
	}
	b, err := json.Marshal(r.Messages[1])
	require.NoError(t, err)
	require.JSONEq(t, `{"role":"assistant","content":"I can't help with that."}`, string(b))
}

func TestParseChat(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		param string // "" with ok=true means valid
		ok    bool
	}{
		{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "", true},
		{"content parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, "", true},
		{"all supported params", `{"model":"m","messages":[{"role":"developer","content":"s"},{"role":"user","content":"hi"}],"temperature":1,"top_p":0.5,"max_tokens":5,"max_completion_tokens":5,"stop":"x","n":1,"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"user":"u","seed":3,"frequency_penalty":0,"presence_penalty":0,"parallel_tool_calls":true,"store":false,"metadata":{"a":"b"},"logprobs":false}`, "", true},
		{"the SDKs' successors of user", `{"model":"m","messages":[{"role":"user","content":"hi"}],"safety_identifier":"u-1","prompt_cache_key":"c-1"}`, "", true},
		{"tool round trip", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`, "", true},
		{"unknown top-level", `{"model":"m","messages":[{"role":"user","content":"hi"}],"best_of":2}`, "best_of", false},
		{"unknown nested", `{"model":"m","messages":[{"role":"user","content":"hi","audio":1}]}`, "messages[0].audio", false},
		{"an answer's message sent back", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","refusal":null,"annotations":[],"audio":null,"function_call":null,"tool_calls":null},{"role":"user","content":"more"}]}`, "", true},
		{"a refusal sent back", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"refusal":"I can't"},{"role":"user","content":"more"}]}`, "", true},
		{"refusal on a user message", `{"model":"m","messages":[{"role":"user","content":"hi","refusal":"no"}]}`, "messages[0].refusal", false},
		{"an assistant's audio", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","audio":{"id":"audio_1"}}]}`, "messages[1].audio", false},
		{"an assistant's function_call", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{}"}}]}`, "messages[1].function_call", false},
		{"logprobs true", `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":20}`, "", true},
		{"top_logprobs without logprobs", `{"model":"m","messages":[{"role":"user","content":"hi"}],"top_logprobs":2}`, "top_logprobs", false},
		{"top_logprobs above 20", `{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}`, "top_logprobs", false},
		{"n of MaxChoices", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":8}`, "", true},
		{"n above MaxChoices", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":9}`, "n", false},
		{"n zero", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":0}`, "n", false},
		{"stop too many", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b","c","d","e"]}`, "stop", false},
		{"stream_options without stream", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options", false},
		{"json_schema without schema", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}`, "response_format.json_schema", false},
		{"json_schema strict", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"person","description":"d","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}`, "", true},
		{"json_schema bad name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a b","schema":{}}}}`, "response_format.json_schema.name", false},
		{"json_schema schema not object", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":[]}}}`, "response_format.json_schema.schema", false},
		{"json_schema unknown field", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schemas":{}}}}`, "response_format.json_schema.schemas", false},
		{"json_schema on json_object", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object","json_schema":{"name":"a"}}}`, "response_format.json_schema", false},
		{"response_format unknown type", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`, "response_format.type", false},
		{"trailing whitespace", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} \r\n\t", "", true},
		{"trailing object", `{"model":"m","messages":[{"role":"user","content":"hi"}]} {}`, "", false},
		{"trailing garbage", `{"model":"m","messages":[{"role":"user","content":"hi"}]}x`, "", false},
		{"trailing vertical tab", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\v", "", false},
		{"second message bad role", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"robot","content":"x"}]}`, "messages[1].role", false},
		{"assistant tool call without id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[1].tool_calls[0]", false},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", false},
		{"bad tool name", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"has space"}}]}`, "tools[0].function.name", false},
		{"duplicate tool", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}`, "tools[1].function.name", false},
		{"tool_choice unknown tool", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, "tool_choice", false},
		{"tool_choice without tools", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}`, "tool_choice", false},
		{"max_tokens zero", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "max_tokens", false},
		{"trailing data", `{"model":"m","messages":[{"role":"user","content":"hi"}]} {}`, "", false},
		{"empty body", ``, "", false},
		{"null content for user", `{"model":"m","messages":[{"role":"user","content":null}]}`, "messages[0].content", false},
		{"number content", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages", false},
		{"rampart extension", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["handbook","it-docs"],"top_k":8,"min_score":0.01}}`, "", true},
		{"rampart empty", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{}}`, "", true},
		{"rampart top_k 0", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a"],"top_k":0}}`, "rampart.top_k", false},
		{"rampart top_k 51", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a"],"top_k":51}}`, "rampart.top_k", false},
		{"rampart bad collection", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a","../b"]}}`, "rampart.collections[1]", false},
		{"rampart duplicate collection", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a","a"]}}`, "rampart.collections[1]", false},
		{"rampart too many", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collections":["a","b","c","d","e","f","g","h","i"]}}`, "rampart.collections", false},
		{"rampart unknown field", `{"model":"m","messages":[{"role":"user","content":"hi"}],"rampart":{"collection":"a"}}`, "rampart.collection", false},
		{"invalid UTF-8 in content", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xffb\"}]}", "", false},
		{"UTF-8-encoded surrogate", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}", "", false},
		{"user with tool_calls", `{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := wire.ParseChat([]byte(tt.body))
			if tt.ok {
				require.NoError(t, err)
				require.NotNil(t, r)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apierr.KindInvalid, e.Kind)
			require.Equal(t, tt.param, e.Param, e.Message)
		})
	}
}

// TestUnsupportedParameterMessages: an OpenAI parameter Rampart does not
// serve is named as such; anything else is an unrecognized argument, as
// OpenAI words it. Both are 400 unsupported_parameter naming the parameter.
func TestUnsupportedParameterMessages(t *testing.T) {
	const base = `{"model":"m","messages":[{"role":"user","content":"hi"}],`
	for _, tc := range []struct{ param, body, message string }{
		{"prediction", `"prediction":{"type":"content","content":"x"}}`, "Unsupported parameter: 'prediction' is not supported by Rampart."},
		{"web_search_options", `"web_search_options":{}}`, "Unsupported parameter: 'web_search_options' is not supported by Rampart."},
		{"audio", `"audio":{"voice":"alloy","format":"mp3"}}`, "Unsupported parameter: 'audio' is not supported by Rampart."},
		{"temprature", `"temprature":1}`, "Unrecognized request argument supplied: temprature"},
		{"messages[0].audio", `{"model":"m","messages":[{"role":"user","content":"hi","audio":1}]}`, "Unrecognized request argument supplied: messages[0].audio"},
	} {
		body := tc.body
		if !strings.HasPrefix(body, "{") {
			body = base + body
		}
		_, err := wire.ParseChat([]byte(body))
		e, ok := apierr.As(err)
		require.True(t, ok, "%s: %v", tc.body, err)
		require.Equal(t, tc.param, e.Param)
		require.Equal(t, "unsupported_parameter", e.Code)
		require.Equal(t, tc.message, e.Message)
	}
}

// TestInvalidTypeNamesJSONTypes: a value of the wrong JSON type is named
// in JSON's terms, as OpenAI does, never by the Go type it decodes into.
func TestInvalidTypeNamesJSONTypes(t *testing.T) {
	for body, want := range map[string]string{
		`{"model":"m","messages":"hi"}`:                                                "Invalid type for 'messages': expected an array, but got a string instead.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":"5"}`:   "Invalid type for 'max_tokens': expected an integer, but got a string instead.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}`:   "Invalid type for 'max_tokens': expected an integer, but got a number 1.5 instead.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`:     "Invalid type for 'stream': expected a boolean, but got a string instead.",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":true}`: "Invalid type for 'temperature': expected a number, but got a boolean instead.",
		`{"model":["m"],"messages":[{"role":"user","content":"hi"}]}`:                  "Invalid type for 'model': expected a string, but got an array instead.",
	} {
		_, err := wire.ParseChat([]byte(body))
		e, ok := apierr.As(err)
		require.True(t, ok, "%s: %v", body, err)
		require.Equal(t, want, e.Message, body)
	}
}

func TestContentPartsJoined(t *testing.T) {
	r, err := wire.ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`))
	require.NoError(t, err)
	require.Equal(t, "a\nb", r.Messages[0].Content.Text)
}

func FuzzParseChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"stop":["x"],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := wire.ParseChat(body)
		if err != nil {
			_, ok := apierr.As(err)
			require.True(t, ok, "every parse error is a client error: %v", err)
			return
		}
		require.NotEmpty(t, r.Model)
		require.NotEmpty(t, r.Messages)
	})
}

func FuzzParseEmbeddings(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":"x"}`))
	f.Add([]byte(`{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := wire.ParseEmbeddings(body)
		if err != nil {
			_, ok := apierr.As(err)
			require.True(t, ok, "every parse error is a client error: %v", err)
			return
		}
		require.NotEmpty(t, r.Input)
	})
}

// TestContentStringFastPath: the no-escape fast path of Content.UnmarshalJSON
// gives exactly what encoding/json gives, and everything it cannot take
// (escapes, invalid UTF-8, control characters) still goes through
// encoding/json.
func TestContentStringFastPath(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"plain", `"hello world"`},
		{"empty", `""`},
		{"unicode", `"héllo ✓ 日本"`},
		{"escaped quote", `"say \"hi\""`},
		{"escaped unicode", `"\u00e9\n\t"`},
		{"surrogate pair", `"\ud83d\ude00"`},
		{"invalid utf-8", "\"a\xffb\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want string
			require.NoError(t, json.Unmarshal([]byte(tt.raw), &want))
			var c wire.Content
			require.NoError(t, c.UnmarshalJSON([]byte(tt.raw)))
			require.Equal(t, want, c.Text)
			require.True(t, c.Set)
		})
	}
	for _, bad := range []string{"\"a\x01b\"", `"`, `"abc`} {
		var c wire.Content
		require.Error(t, c.UnmarshalJSON([]byte(bad)), "%q", bad)
	}
}

// TestContentMarshalJSONTo: encoding/json writes a message's content through
// MarshalJSONTo with the same bytes the nested Marshal gave (HTML
// escaping, Unicode line separators, quotes, control characters, null).
func TestContentMarshalJSONTo(t *testing.T) {
	tests := []wire.Content{
		{Text: "plain", Set: true},
		{Text: `<a href="x">&amp;</a>`, Set: true},
		{Text: "tab\tnewline\n\u2028\u2029 quote\" back\\ nul\x00 é 😀", Set: true},
		{Text: "", Set: true},
		{Null: true, Set: true},
		{},
		{Text: "joined\nparts", Parts: true, Set: true},
	}
	for _, c := range tests {
		want, err := c.MarshalJSON()
		require.NoError(t, err)
		got, err := json.Marshal(c)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%+v", c)
		msg, err := json.Marshal(wire.Message{Role: "user", Content: c})
		require.NoError(t, err)
		require.Contains(t, string(msg), `"content":`+string(want))
	}
}

// TestContentUnmarshalFrom: decoding a message's content through
// encoding/json (which takes Content.UnmarshalJSONFrom) gives what
// Content.UnmarshalJSON gives for every shape, errors included.
func TestContentUnmarshalFrom(t *testing.T) {
	for _, raw := range []string{
		`"hello world"`, `""`, `"héllo ✓ 日本"`, `"say \"hi\""`, `"\u00e9\n\t"`, `"\ud83d\ude00"`, "\"a\xffb\"",
		`null`, ` "padded" `, `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, `[]`,
		`[{"type":"image_url"}]`, `42`, `{}`, `true`, `"a` + "\x01" + `b"`,
	} {
		t.Run(raw, func(t *testing.T) {
			var direct wire.Content
			derr := direct.UnmarshalJSON([]byte(raw))
			var via struct {
				Content wire.Content `json:"content"`
			}
			verr := json.Unmarshal([]byte(`{"content":`+raw+`}`), &via)
			if derr != nil {
				require.Error(t, verr, "%q", raw)
				return
			}
			require.NoError(t, verr, "%q", raw)
			require.Equal(t, direct, via.Content)
		})
	}
}
