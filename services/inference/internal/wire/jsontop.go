package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"

	"github.com/rampart-platform/rampart/pkg/jsonread"
)

// The native Responses stream relays every upstream event with two numbers
// changed (sequence_number, output_index). Decoding each event into a map
// and encoding it again cost most of the relay's CPU; these helpers find
// and replace a top-level member of a JSON object in place. The members
// are found by pkg/jsonread, the one hand-written JSON reader (ADR 0063,
// 0067); an object it does not read (invalid UTF-8 or a lone surrogate in
// a string, an escaped or non-ASCII member name, deep nesting) is walked
// with encoding/json's tokenizer instead, so every valid object is handled
// and a member name is compared decoded.

var errNotObject = errors.New("not a JSON object")

// TopValue returns the value of obj's top-level member key (nil when
// there is none).
func TopValue(obj []byte, key string) ([]byte, error) {
	var out []byte
	_, _, err := topLevel(obj, func(k []byte, start, end int) bool {
		if string(k) == key {
			out = obj[start:end]
			return false
		}
		return true
	})
	return out, err
}

// SetTop returns obj with its top-level member key set to val (added
// first when obj has none); obj's bytes may be reused.
func SetTop(obj []byte, key string, val []byte) ([]byte, error) {
	at, end := -1, -1
	open, members, err := topLevel(obj, func(k []byte, start, e int) bool {
		if string(k) == key {
			at, end = start, e
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if at >= 0 {
		return slices.Concat(obj[:at], val, obj[end:]), nil
	}
	member := slices.Concat([]byte(`"`+key+`":`), val)
	if members > 0 {
		member = append(member, ',')
	}
	return slices.Concat(obj[:open], member, obj[open:]), nil
}

// topLevel calls f with each top-level member's name and its value's
// offsets in obj, until f returns false; it returns the offset just after
// obj's opening brace and how many members it saw.
func topLevel(obj []byte, f func(key []byte, start, end int) bool) (open, members int, err error) {
	r := jsonread.NewReader(obj)
	if !r.Object() {
		return topLevelJSON(obj, f)
	}
	open = r.Offset()
	for first := true; r.More(first); first = false {
		name, ok := r.Name()
		if !ok {
			return topLevelJSON(obj, f)
		}
		raw, ok := r.Raw()
		if !ok {
			return topLevelJSON(obj, f)
		}
		members++
		if !f(name, r.Offset()-len(raw), r.Offset()) {
			return open, members, nil
		}
	}
	if !r.End() {
		return topLevelJSON(obj, f)
	}
	return open, members, nil
}

// topLevelJSON is topLevel with encoding/json's tokenizer, for the objects
// jsonread does not read. f may have been called for the members before
// the one jsonread stopped at; they are handed to it again (f only looks).
func topLevelJSON(obj []byte, f func(key []byte, start, end int) bool) (open, members int, err error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, errNotObject
	}
	open = int(dec.InputOffset())
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return 0, 0, errNotObject
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, errNotObject
		}
		members++
		end := int(dec.InputOffset())
		if !f([]byte(name), end-len(raw), end) {
			return open, members, nil
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return 0, 0, errNotObject
	}
	if _, err := dec.Token(); err == nil || !errors.Is(err, io.EOF) {
		return 0, 0, errNotObject
	}
	return open, members, nil
}
