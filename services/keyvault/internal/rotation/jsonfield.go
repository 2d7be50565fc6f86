package rotation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// errNotObject: the current value cannot take a field. Rotation fails (and
// is recorded) rather than replace a value it does not understand.
var errNotObject = errors.New("the current value is not a JSON object")

// setJSONField returns the JSON object value with field key set to the
// string s; every other field keeps its exact value (a database secret's
// username, host, port, engine… survive a password rotation). Fields come
// out sorted by name. An empty value yields {key: s}.
func setJSONField(value []byte, key, s string) ([]byte, error) {
	m := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(value)) > 0 {
		var cur map[string]json.RawMessage
		if err := json.Unmarshal(value, &cur); err != nil || cur == nil {
			return nil, errNotObject
		}
		m = cur
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("rotation: %w", err)
	}
	m[key] = b
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rotation: %w", err)
	}
	return out, nil
}
