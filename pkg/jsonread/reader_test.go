package jsonread_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/jsonread"
)

var values = []string{`"x"`, `"a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00"`, `"\u0000"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`,
	"\"\xff\"", "\"ctl\x01\"", `"unterminated`, `"\x"`, `"\u12"`, `0`, `-0`, `12`, `-12`, `1.5`, `1e3`, `1E+3`, `-1.25e-2`,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `9223372036854775807`, `9223372036854775808`, `1e400`, `true`, `false`, `null`,
	`nul`, `tru`, `{}`, `[]`, `{"a":[1,{"b":null}],"c":"d"}`, `[1,2,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`,
	`{"a":1}x`, ` [ ] `, "\"é\"", `{"a":"\ud83d"}`,
	// UTF-8 checked in place: a surrogate encoded in UTF-8, a truncated
	// sequence, an overlong form, a literal U+FFFD, and each next to an escape.
	"\"\xed\xa0\x80\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xef\xbf\xbd\"", "\"é\\n\xc3\"", "\"\\n\xe2\x82\xac\\t\"",
	"[\"abcdefgh\xff\"]", "{\"k\":\"abc\\u00e9\xed\xa0\x80\"}", `{"abcdefghijk":"lmnopqrstuvwxyz0123456789"}`}

// TestReaderMatchesEncodingJSON: whatever the reader accepts, encoding/json
// accepts with the same value.
func TestReaderMatchesEncodingJSON(t *testing.T) {
	for _, v := range values {
		t.Run(v, func(t *testing.T) { checkValue(t, []byte(v)) })
	}
}

func FuzzReader(f *testing.F) {
	for _, v := range values {
		f.Add([]byte(v))
	}
	f.Fuzz(checkValue)
}

func checkValue(t *testing.T, b []byte) {
	checkWith(t, b, jsonread.Options{})
	// The edge's options: narrower, so the same property holds.
	checkWith(t, b, jsonread.Options{MaxDepth: 3, NoSurrogates: true})
}

func checkWith(t *testing.T, b []byte, o jsonread.Options) {
	r := jsonread.NewReaderOptions(b, o)
	if raw, ok := r.Raw(); ok && r.End() {
		require.True(t, json.Valid(b), "accepted invalid %q", b)
		require.Equal(t, string(bytes.TrimSpace(b)), string(raw))
	}
	r = jsonread.NewReaderOptions(b, o)
	if s, ok := r.String(); ok && r.End() {
		var want string
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, s)
	}
	r = jsonread.NewReaderOptions(b, o)
	if n, ok := r.Int(); ok && r.End() {
		var want int64
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, n)
	}
	r = jsonread.NewReaderOptions(b, o)
	if f, ok := r.Float(); ok && r.End() {
		var want float64
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, f) //nolint:testifylint // exact: the same literal parsed twice
	}
}

func TestReaderRejects(t *testing.T) {
	for _, v := range []string{`"\ud800"`, "\"\xff\"", `01`, `1.`, `{"a":1,}`, `[1,2,]`, `{"a":1}x`, `"\x"`,
		"\"\xed\xa0\x80\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"é\\n\xc3\"", "[\"abcdefgh\xff\"]"} {
		r := jsonread.NewReader([]byte(v))
		_, ok := r.Raw()
		require.False(t, ok && r.End(), "%s", v)
		r = jsonread.NewReader([]byte(v))
		_, ok = r.String()
		require.False(t, ok && r.End(), "%s", v)
	}
}

func TestObjectWalk(t *testing.T) {
	r := jsonread.NewReader([]byte(` {"a": 1, "b" : [true, false, null], "c":{"d":"e"}} `))
	require.True(t, r.Object())
	var names []string
	for first := true; r.More(first); first = false {
		n, ok := r.Name()
		require.True(t, ok)
		names = append(names, string(n))
		require.True(t, r.Skip())
	}
	require.True(t, r.End())
	require.Equal(t, []string{"a", "b", "c"}, names)

	r = jsonread.NewReader([]byte(`{"na\u006de":1}`))
	require.True(t, r.Object())
	require.True(t, r.More(true))
	_, ok := r.Name()
	require.False(t, ok, "escaped names are left to encoding/json")
	require.True(t, r.Failed())
}

// Offset locates the values Raw reads in the input.
func TestOffset(t *testing.T) {
	in := []byte(` { "a" : 1 , "b":[true, {"x":"}"}] ,"c": "d\"" } `)
	r := jsonread.NewReader(in)
	require.Equal(t, 0, r.Offset())
	require.True(t, r.Object())
	var vals []string
	for first := true; r.More(first); first = false {
		_, ok := r.Name()
		require.True(t, ok)
		raw, ok := r.Raw()
		require.True(t, ok)
		start := r.Offset() - len(raw)
		require.Equal(t, string(raw), string(in[start:r.Offset()]))
		vals = append(vals, string(raw))
	}
	require.True(t, r.End())
	require.Equal(t, len(in), r.Offset())
	require.Equal(t, []string{`1`, `[true, {"x":"}"}]`, `"d\""`}, vals)
}

func TestFoldEqual(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		want        bool
	}{{"choices", "choices", true}, {"Choices", "choices", true}, {"finishreason", "finish_reason", true},
		{"FINISH-REASON", "finish_reason", true}, {"choice", "choices", false}, {"id", "choices", false}, {"", "", true}} {
		require.Equal(t, tc.want, jsonread.FoldEqual([]byte(tc.name), tc.field), "%s/%s", tc.name, tc.field)
	}
}

func TestOptions(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name string
		json string
		o    jsonread.Options
		ok   bool
	}{
		{"default depth", nested(jsonread.DefaultMaxDepth), jsonread.Options{}, true},
		{"default depth+1", nested(jsonread.DefaultMaxDepth + 1), jsonread.Options{}, false},
		{"max depth", `{"a":` + nested(2) + `}`, jsonread.Options{MaxDepth: 3}, true},
		{"max depth+1", `{"a":` + nested(3) + `}`, jsonread.Options{MaxDepth: 3}, false},
		{"pair", `"\ud83d\ude00"`, jsonread.Options{}, true},
		{"pair refused", `"\ud83d\ude00"`, jsonread.Options{NoSurrogates: true}, false},
		{"pair refused in a skipped member", `{"a":["\ud83d\ude00"]}`, jsonread.Options{NoSurrogates: true}, false},
		{"no surrogate", `"\u00e9\uffff"`, jsonread.Options{NoSurrogates: true}, true},
		{"literal U+FFFD and an escape", "\"\xef\xbf\xbd\\n\xe2\x82\xac\"", jsonread.Options{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonread.NewReaderOptions([]byte(tc.json), tc.o)
			_, ok := r.Raw()
			require.Equal(t, tc.ok, ok && r.End())
			if tc.json[0] == '"' {
				r = jsonread.NewReaderOptions([]byte(tc.json), tc.o)
				_, ok = r.String()
				require.Equal(t, tc.ok, ok && r.End())
			}
		})
	}
}
