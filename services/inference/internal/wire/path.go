package wire

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// unknownPath returns the OpenAI-style path ("response_format.foo",
// "messages[0].audio") of the first field in body that v's type does not
// know, or "" if none is found. encoding/json names only the field itself,
// which is ambiguous for nested objects; this runs only on the error path.
func unknownPath(body []byte, v any, leaf string) string {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	return walkUnknown(doc, reflect.TypeOf(v), "", leaf)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func walkUnknown(doc any, t reflect.Type, path, leaf string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "" // custom decoders (content, stop) report their own errors
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		items, ok := doc.([]any)
		if !ok {
			return ""
		}
		for i, it := range items {
			if p := walkUnknown(it, t.Elem(), path+"["+strconv.Itoa(i)+"]", leaf); p != "" {
				return p
			}
		}
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return ""
		}
		fields := make(map[string]reflect.Type, t.NumField())
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			val := obj[k]
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				if k == leaf {
					return p
				}
				continue
			}
			if q := walkUnknown(val, ft, p, leaf); q != "" {
				return q
			}
		}
	}
	return ""
}
