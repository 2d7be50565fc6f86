package openai

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/jsonread"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// chunkCases are stream events in the common shape and around it; for
// each, decodeChunk must give what json.Unmarshal gives.
var chunkCases = []struct {
	name string
	body string
	fast bool // read without json.Unmarshal
}{
	{"role", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`, true},
	{"content", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hello! This is "},"logprobs":null,"finish_reason":null}],"usage":null}`, true},
	{"finish", `{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`, true},
	{"usage", `{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23,"completion_tokens_details":{"reasoning_tokens":0}}}`, true},
	{"usage details", `{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":11,"total_tokens":23,"prompt_tokens_details":{"cached_tokens":8,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":5,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`, true},
	{"escapes", `{"choices":[{"delta":{"content":"a\"b\\c\n\u00e9\ud83d\ude00 <&>"}}]}`, true},
	{"null content", `{"choices":[{"delta":{"content":null,"refusal":null}}]}`, true},
	{"tool call fragments", `{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a"}}]},"finish_reason":null}]}`, true},
	{"tool calls null", `{"choices":[{"delta":{"content":"x","tool_calls":null}}]}`, true},
	{"two choices", `{"choices":[{"delta":{"content":"x"}},{"index":1,"delta":{"content":"y"},"finish_reason":"length"}]}`, true},
	{"null choices", `{"choices":null}`, true},
	{"empty object", `{}`, true},
	{"whitespace", " \n{ \"choices\" : [ { \"delta\" : { \"content\" : \"x\" } } ] } \n", true},
	{"nested unknowns", `{"x":{"choices":[1,2]},"choices":[{"delta":{"content":"x","annotations":[{"a":{"b":[]}}]},"extra":[{}]}]}`, true},

	{"error event", `{"error":{"message":"boom","type":"server_error","code":"overloaded"}}`, false},
	{"null error", `{"error":null,"choices":[]}`, false},
	{"case-folded name", `{"Choices":[{"delta":{"content":"x"}}]}`, false},
	{"case-folded inner name", `{"choices":[{"Delta":{"Content":"x"},"FINISH_REASON":"stop"}]}`, false},
	{"escaped name", `{"cho\u0069ces":[{"delta":{"content":"x"}}]}`, false},
	{"duplicate choices", `{"choices":[{"delta":{"content":"x"}}],"choices":[{"delta":{"content":"y"}}]}`, false},
	{"duplicate content", `{"choices":[{"delta":{"content":"x","content":"y"}}]}`, false},
	{"duplicate finish reason", `{"choices":[{"finish_reason":"stop","finish_reason":null}]}`, false},
	{"numeric content", `{"choices":[{"delta":{"content":5}}]}`, false},
	{"null delta", `{"choices":[{"delta":null,"finish_reason":"stop"}]}`, false},
	{"null choice", `{"choices":[null]}`, false},
	{"numeric finish reason", `{"choices":[{"finish_reason":1}]}`, false},
	{"invalid utf-8", "{\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}", false},
	{"invalid utf-8 skipped", "{\"id\":\"a\xffb\",\"choices\":[]}", false},
	{"lone surrogate", `{"choices":[{"delta":{"content":"\ud800"}}]}`, false},
	{"trailing data", `{"choices":[]} x`, false},
	{"not an object", `[]`, false},
	{"truncated", `{"choices":[{"delta":{"content":"x"`, false},
	{"empty", ``, false},
	{"bad usage", `{"usage":{"prompt_tokens":"1"}}`, false},
	{"bad tool calls", `{"choices":[{"delta":{"tool_calls":{}}}]}`, false},
	{"bad tool call index", `{"choices":[{"delta":{"tool_calls":[{"index":"0"}],"content":"x"}}]}`, false},
	{"mismatched brackets", `{"choices":[}`, false},
}

func TestDecodeChunkMatchesEncodingJSON(t *testing.T) {
	for _, tc := range chunkCases {
		t.Run(tc.name, func(t *testing.T) {
			var fast upstreamChunk
			require.Equal(t, tc.fast, fastChunk([]byte(tc.body), &fast), "read without encoding/json")
			requireSameChunk(t, []byte(tc.body))
		})
	}
}

// TestDecodeChunkReusingChoices: a stream decodes every chunk into one
// Choices backing array (streamState.chunk); each chunk's result is still
// what json.Unmarshal gives into a fresh chunk, whatever the chunk before
// it left in the array.
func TestDecodeChunkReusingChoices(t *testing.T) {
	var buf []upstreamChunkChoice
	for range 3 {
		for _, tc := range chunkCases {
			var want upstreamChunk
			wantErr := json.Unmarshal([]byte(tc.body), &want)
			got := upstreamChunk{Choices: buf[:0]}
			gotErr := decodeChunk([]byte(tc.body), &got)
			if wantErr != nil {
				require.Error(t, gotErr, tc.name)
				continue
			}
			require.NoError(t, gotErr, tc.name)
			if len(want.Choices) == 0 && len(got.Choices) == 0 {
				// No choices (absent, null or []): the reused array's empty
				// slice where a fresh chunk has nil, as json.Unmarshal leaves
				// a preset slice alone; streamState.chunk ranges over them.
				got.Choices = want.Choices
			}
			require.Equal(t, want, got, tc.name)
			if cap(got.Choices) > cap(buf) {
				buf = got.Choices
			}
		}
	}
}

// requireSameChunk: decodeChunk's result and error are json.Unmarshal's.
func requireSameChunk(t *testing.T, b []byte) {
	t.Helper()
	var want, got upstreamChunk
	wantErr := json.Unmarshal(b, &want)
	gotErr := decodeChunk(b, &got)
	if wantErr != nil {
		require.EqualError(t, gotErr, wantErr.Error())
	} else {
		require.NoError(t, gotErr)
	}
	require.Equal(t, want, got)
}

func FuzzDecodeChunk(f *testing.F) {
	for _, tc := range chunkCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(requireSameChunk)
}

func BenchmarkDecodeChunk(b *testing.B) {
	body := []byte(chunkCases[1].body)
	for _, bc := range []struct {
		name   string
		decode func([]byte, *upstreamChunk) error
	}{
		{"decodeChunk", decodeChunk},
		{"json.Unmarshal", func(b []byte, out *upstreamChunk) error { return json.Unmarshal(b, out) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out upstreamChunk
				if err := bc.decode(body, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUnreadNamesFoldToNoField: no name unread skips is FoldEqual to a
// member the fast decoders read (any field of the structs they fill, at
// any level), so skipping the FoldEqual check for it never keeps a
// spelling encoding/json would match away from encoding/json.
func TestUnreadNamesFoldToNoField(t *testing.T) {
	var fields []string
	for _, v := range []any{upstreamChunk{}, upstreamChunkChoice{}, upstreamDelta{}, upstreamCompletion{}, upstreamChoice{}, upstreamMessage{}, wire.Usage{}, wire.PromptTokensDetails{}, wire.CompletionTokensDetails{}} {
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			require.NotEmpty(t, name, "%s.%s has no json name", rt.Name(), rt.Field(i).Name)
			fields = append(fields, name)
		}
	}
	names := []string{"id", "object", "created", "model", "system_fingerprint", "service_tier",
		"role", "refusal", "annotations"}
	for _, n := range names {
		require.True(t, unread([]byte(n)), n)
		for _, f := range fields {
			require.False(t, jsonread.FoldEqual([]byte(n), f), "%s folds to %s", n, f)
		}
	}
	for _, f := range fields {
		require.False(t, unread([]byte(f)), "a field is never skipped unread: %s", f)
	}
	require.False(t, unread([]byte("ID")), "only exact spellings")
}
