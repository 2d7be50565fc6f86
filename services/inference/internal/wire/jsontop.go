package wire

import (
	"errors"
	"slices"
)

// The native Responses stream relays every upstream event with two numbers
// changed (sequence_number, output_index). Decoding each event into a map
// and encoding it again cost most of the relay's CPU; these helpers find
// and replace a top-level member of a JSON object in place. They expect
// valid JSON (the provider decoded the event once already).

var errNotObject = errors.New("not a JSON object")

// TopValue returns the value of obj's top-level member key (nil when
// there is none).
func TopValue(obj []byte, key string) ([]byte, error) {
	var out []byte
	err := topLevel(obj, func(k []byte, start, end int) bool {
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
	err := topLevel(obj, func(k []byte, start, e int) bool {
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
	open := skipWS(obj, 0) + 1
	member := slices.Concat([]byte(`"`+key+`":`), val)
	if rest := skipWS(obj, open); rest < len(obj) && obj[rest] != '}' {
		member = append(member, ',')
	}
	return slices.Concat(obj[:open], member, obj[open:]), nil
}

// topLevel calls f with each top-level key of obj (raw, without quotes)
// and its value's offsets, until f returns false.
func topLevel(obj []byte, f func(key []byte, start, end int) bool) error {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errNotObject
	}
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errNotObject
		}
		ke, err := skipString(obj, i)
		if err != nil {
			return err
		}
		key := obj[i+1 : ke-1]
		i = skipWS(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return errNotObject
		}
		vs := skipWS(obj, i+1)
		ve, err := skipValue(obj, vs)
		if err != nil {
			return err
		}
		if !f(key, vs, ve) {
			return nil
		}
		i = skipWS(obj, ve)
		switch {
		case i >= len(obj):
			return errNotObject
		case obj[i] == ',':
			i = skipWS(obj, i+1)
		case obj[i] == '}':
			return nil
		default:
			return errNotObject
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the offset after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the offset after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errNotObject
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errNotObject
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return 0, errNotObject
		}
		return j, nil
	}
}
