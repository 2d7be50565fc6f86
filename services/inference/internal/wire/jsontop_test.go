package wire_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// setTopEvents are relay events around the common shape.
var setTopEvents = []string{
	`{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":2,"content_index":0,"delta":"a \"}\" {[x]} \\","logprobs":[]}`,
	`{"type":"response.output_item.done","sequence_number":12,"output_index":0,"item":{"type":"function_call","output_index":9,"arguments":"{\"sequence_number\":1}","status":"completed"}}`,
	` { "sequence_number" : 3 , "type" : "x" , "n" : -1.5e3, "t": true, "z": null } `,
	`{"type":"response.reasoning_summary_text.delta","output_index":1,"delta":"ünïcode \u00e9"}`,
	`{}`,
	// Read with encoding/json's tokenizer (jsonread refuses them):
	"{\"type\":\"x\",\"delta\":\"bad \xff utf-8\",\"sequence_number\":1}",
	`{"type":"x","delta":"lone \ud800","output_index":3}`,
	`{"typ\u0065":"x","n\u00e4me":1,"output_index":3}`,
	`{"deep":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `,"output_index":0}`,
}

// SetTop and TopValue touch only the named top-level member: the same
// keys nested in items, in strings with quotes, braces and escapes, stay
// as they are; the result decodes to the map-based rewrite.
func TestSetTop(t *testing.T) {
	events := setTopEvents
	for _, ev := range events {
		for _, key := range []string{"sequence_number", "output_index"} {
			got, err := wire.SetTop([]byte(ev), key, []byte("42"))
			require.NoError(t, err, ev)
			var want, have map[string]any
			require.NoError(t, json.Unmarshal([]byte(ev), &want))
			want[key] = 42.0
			require.NoError(t, json.Unmarshal(got, &have), "%s", got)
			require.Equal(t, want, have, "%s", got)
			v, err := wire.TopValue(got, key)
			require.NoError(t, err)
			require.Equal(t, "42", string(v))
		}
	}
	item, err := wire.TopValue([]byte(events[1]), "item")
	require.NoError(t, err)
	require.True(t, json.Valid(item))
	require.Contains(t, string(item), `"output_index":9`)
	missing, err := wire.TopValue([]byte(events[0]), "item")
	require.NoError(t, err)
	require.Nil(t, missing)
	// A member name is compared decoded: the escaped spelling is replaced,
	// not added a second time.
	got, err := wire.SetTop([]byte(`{"sequence\u005fnumber":1,"x":2}`), "sequence_number", []byte("7"))
	require.NoError(t, err)
	require.Equal(t, `{"sequence\u005fnumber":7,"x":2}`, string(got))
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":`, `{"a" 1}`, `{"a":"unterminated}`, `{"b":1}x`, "{\"b\":\"\xff\"", `{1:2}`} {
		_, err := wire.SetTop([]byte(bad), "a", []byte("1"))
		require.Error(t, err, bad)
	}
}

// BenchmarkSetTop is the relay's rewrite of one text delta event.
func BenchmarkSetTop(b *testing.B) {
	ev := []byte(`{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad87d6a8a8","output_index":0,"content_index":0,"delta":"Hello! This is a fixed reply","logprobs":[]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.SetTop(ev, "sequence_number", []byte("42")); err != nil {
			b.Fatal(err)
		}
		if _, err := wire.TopValue(ev, "output_index"); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSetTop: on any object encoding/json decodes (with no duplicate
// names), SetTop sets the member and leaves every other member's bytes as
// they were, and TopValue finds the new value.
func FuzzSetTop(f *testing.F) {
	for _, ev := range setTopEvents {
		f.Add([]byte(ev))
	}
	f.Fuzz(func(t *testing.T, ev []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(ev, &want) != nil || want == nil || topMembers(ev) != len(want) {
			return
		}
		got, err := wire.SetTop(ev, "sequence_number", []byte("42"))
		require.NoError(t, err)
		var have map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(got, &have), "%q", got)
		want["sequence_number"] = json.RawMessage("42")
		require.Equal(t, want, have)
		v, err := wire.TopValue(got, "sequence_number")
		require.NoError(t, err)
		require.Equal(t, "42", string(v))
	})
}

// topMembers counts obj's top-level members (names as written, so
// duplicates count twice).
func topMembers(obj []byte) int {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil {
		return -1
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return -1
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return -1
		}
		n++
	}
	return n
}
