package jsonfast_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/jsonfast"
)

var values = []string{`"x"`, `"a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00"`, `"\u0000"`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`,
	"\"\xff\"", "\"ctl\x01\"", `"unterminated`, `"\x"`, `"\u12"`, `0`, `-0`, `12`, `-12`, `1.5`, `1e3`, `1E+3`, `-1.25e-2`,
	`01`, `1.`, `.5`, `-`, `1e`, `+1`, `9223372036854775807`, `9223372036854775808`, `1e400`, `true`, `false`, `null`,
	`nul`, `tru`, `{}`, `[]`, `{"a":[1,{"b":null}],"c":"d"}`, `[1,2,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`,
	`{"a":1}x`, ` [ ] `, "\"é\"", `{"a":"\ud83d"}`}

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
	r := jsonfast.NewReader(b)
	if raw, ok := r.Raw(); ok && r.End() {
		require.True(t, json.Valid(b), "accepted invalid %q", b)
		require.Equal(t, string(bytes.TrimSpace(b)), string(raw))
	}
	r = jsonfast.NewReader(b)
	if s, ok := r.String(); ok && r.End() {
		var want string
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, s)
	}
	r = jsonfast.NewReader(b)
	if n, ok := r.Int(); ok && r.End() {
		var want int64
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, n)
	}
	r = jsonfast.NewReader(b)
	if f, ok := r.Float(); ok && r.End() {
		var want float64
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, f) //nolint:testifylint // exact: the same literal parsed twice
	}
}

func TestReaderRejects(t *testing.T) {
	for _, v := range []string{`"\ud800"`, "\"\xff\"", `01`, `1.`, `{"a":1,}`, `[1,2,]`, `{"a":1}x`, `"\x"`} {
		r := jsonfast.NewReader([]byte(v))
		_, ok := r.Raw()
		require.False(t, ok && r.End(), "%s", v)
	}
}

func TestObjectWalk(t *testing.T) {
	r := jsonfast.NewReader([]byte(` {"a": 1, "b" : [true, false, null], "c":{"d":"e"}} `))
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

	r = jsonfast.NewReader([]byte(`{"na\u006de":1}`))
	require.True(t, r.Object())
	require.True(t, r.More(true))
	_, ok := r.Name()
	require.False(t, ok, "escaped names are left to encoding/json")
	require.True(t, r.Failed())
}

func TestFoldEqual(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		want        bool
	}{{"choices", "choices", true}, {"Choices", "choices", true}, {"finishreason", "finish_reason", true},
		{"FINISH-REASON", "finish_reason", true}, {"choice", "choices", false}, {"id", "choices", false}, {"", "", true}} {
		require.Equal(t, tc.want, jsonfast.FoldEqual([]byte(tc.name), tc.field), "%s/%s", tc.name, tc.field)
	}
}
