package openai

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// streamClass is what inspect makes of a stream value: absent/null/false,
// true, or anything else (refused).
func streamClass(raw []byte) string {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false":
		return "off"
	case "true":
		return "on"
	}
	return "refused"
}

// agrees checks peekStream against encoding/json (decodeStream) on body:
// whenever the fast path answers, encoding/json accepts the body and reads
// the same stream value.
func agrees(t *testing.T, body []byte) (answered bool) {
	t.Helper()
	if !utf8.Valid(body) {
		return false // inspect refuses it before either runs
	}
	raw, ok := peekStream(body)
	if !ok {
		return false
	}
	want, e := decodeStream(body)
	require.Nil(t, e, "fast path accepted a body encoding/json refuses: %q", body)
	require.Equal(t, streamClass(want), streamClass(raw), "body %q", body)
	return true
}

func TestPeekStreamAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		body     string
		answered bool // the fast path answers (false: encoding/json does)
	}{
		{`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}`, true},
		{string(benchBody), true},
		{`{"stream":true}`, true},
		{` {"stream" : false , "x":[1,-2.5e+3,0,0.1,1E9,true,false,null,{},[],"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"]} `, false},
		{`{"x":"\u00e9 caf\u00c9"}`, true},
		{`{"STREAM":true}`, true},
		{`{"Stream":"true"}`, true},
		{`{"stream":1}`, true},
		{`{"stream":{"a":1}}`, true},
		{`{"stream":null}`, true},
		{`{}`, true},
		{"{\n\t\"stream\":\r\ntrue\n}\n", true},
		// Everything below goes to encoding/json.
		{`{"stream":true,"stream":false}`, false},
		{`{"stream":true,"STREAM":false}`, false},
		{`{"st_ream":true}`, false},
		{`{"s-t-r-e-a-m":true}`, false},
		{`{"ſtream":true}`, false},
		{`{"str\u0065am":true}`, false},
		{`{"x":"\ud800"}`, false},
		{`{"x":"\uDFFF"}`, false},
		{`null`, false},
		{`[]`, false},
		{`"x"`, false},
		{`1`, false},
		{``, false},
		{`{`, false},
		{`{"a":1,}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1e}`, false},
		{`{"a":-}`, false},
		{`{"a":+1}`, false},
		{`{"a":tru}`, false},
		{`{"a":truex}`, false},
		{`{"a":"x\u12"}`, false},
		{`{"a":"\x"}`, false},
		{"{\"a\":\"tab\tinside\"}", false},
		{`{"a":1} x`, false},
		{`{"a":1}{}`, false},
		{`{"a" 1}`, false},
		{`{a:1}`, false},
		{"{\"a\":1}\u00a0", false},
		{`{"a":[1 2]}`, false},
		{`{"a":{"b"}}`, false},
		{strings.Repeat(`{"a":`, maxPeekDepth) + `1` + strings.Repeat(`}`, maxPeekDepth), true},
		{strings.Repeat(`{"a":`, maxPeekDepth+1) + `1` + strings.Repeat(`}`, maxPeekDepth+1), false},
		{`{"a":` + strings.Repeat(`[`, 20000) + strings.Repeat(`]`, 20000) + `}`, false},
	}
	for _, tc := range tests {
		name := tc.body
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.answered, agrees(t, []byte(tc.body)))
		})
	}
}

// FuzzPeekStream: on any body, the fast path either leaves it to
// encoding/json or answers as encoding/json does.
func FuzzPeekStream(f *testing.F) {
	for _, s := range []string{`{"stream":true}`, `{"a":[1,{"b":null}],"Stream":false}`, `{"x":"\u00e9\n"}`, `{"a":-0.0e-0}`, `[1]`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { agrees(t, body) })
}

func BenchmarkPeekStream(b *testing.B) {
	for b.Loop() {
		if _, ok := peekStream(benchBody); !ok {
			b.Fatal("the fast path refused the bench body")
		}
	}
}
