package local

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds recursion through $ref cycles (a recursive schema gets
// the shortest instance: optional properties and arrays stay empty).
const maxDepth = 16

// instance builds a value that satisfies schema, filling strings with text
// (echo's answer is built from the request). It covers the JSON Schema
// subset OpenAI's strict mode allows: type (also as a list with "null"),
// properties/required, items/minItems/maxItems, enum, const, anyOf/oneOf/
// allOf (first branch), local $ref to $defs/definitions, string
// minLength/maxLength and the common formats, number minimum/maximum.
// "pattern" is not honoured (the text is returned as is).
func instance(schema json.RawMessage, text string) any {
	var s map[string]any
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return map[string]any{}
	}
	g := gen{root: s, text: text}
	return g.value(s, 0)
}

type gen struct {
	root map[string]any
	text string
}

func (g *gen) value(s map[string]any, depth int) any {
	if depth > maxDepth {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		if t := g.resolve(ref); t != nil {
			return g.value(t, depth+1)
		}
	}
	if c, ok := s["const"]; ok {
		return c
	}
	if e, ok := s["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if l, ok := s[k].([]any); ok && len(l) > 0 {
			if b, ok := l[0].(map[string]any); ok {
				return g.value(b, depth+1)
			}
		}
	}
	switch typeOf(s) {
	case "object":
		return g.object(s, depth)
	case "array":
		n := 0
		if m, ok := s["minItems"].(float64); ok {
			n = int(m)
		}
		items, _ := s["items"].(map[string]any)
		out := make([]any, 0, n)
		for range n {
			out = append(out, g.value(items, depth+1))
		}
		return out
	case "string":
		return g.str(s)
	case "integer":
		return int64(number(s))
	case "number":
		return number(s)
	case "boolean":
		return false
	case "null":
		return nil
	}
	return g.text
}

func (g *gen) object(s map[string]any, depth int) map[string]any {
	props, _ := s["properties"].(map[string]any)
	out := make(map[string]any, len(props))
	req, _ := s["required"].([]any)
	for _, r := range req {
		name, _ := r.(string)
		p, _ := props[name].(map[string]any)
		out[name] = g.value(p, depth+1)
	}
	return out
}

func (g *gen) resolve(ref string) map[string]any {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		if ref == "#" {
			return g.root
		}
		return nil
	}
	var cur any = g.root
	for part := range strings.SplitSeq(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
	}
	t, _ := cur.(map[string]any)
	return t
}

// typeOf returns the schema's type, the first non-null one of a list.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x, ok := x.(string); ok && x != "null" {
				return x
			}
		}
		return "null"
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

func (g *gen) str(s map[string]any) string {
	switch s["format"] {
	case "date-time":
		return "1970-01-01T00:00:00Z"
	case "date":
		return "1970-01-01"
	case "time":
		return "00:00:00Z"
	case "email":
		return "echo@example.com"
	case "uri", "url":
		return "https://example.com/"
	case "uuid":
		return "00000000-0000-0000-0000-000000000000"
	case "ipv4":
		return "127.0.0.1"
	case "ipv6":
		return "::1"
	case "hostname":
		return "example.com"
	}
	v := g.text
	if m, ok := s["maxLength"].(float64); ok && utf8.RuneCountInString(v) > int(m) {
		v = string([]rune(v)[:int(m)])
	}
	if m, ok := s["minLength"].(float64); ok && utf8.RuneCountInString(v) < int(m) {
		v += strings.Repeat(".", int(m)-utf8.RuneCountInString(v))
	}
	return v
}

// number returns 0 moved into [minimum, maximum] (exclusive bounds by 1).
func number(s map[string]any) float64 {
	v := 0.0
	if m, ok := s["minimum"].(float64); ok && v < m {
		v = m
	}
	if m, ok := s["exclusiveMinimum"].(float64); ok && v <= m {
		v = m + 1
	}
	if m, ok := s["maximum"].(float64); ok && v > m {
		v = m
	}
	if m, ok := s["exclusiveMaximum"].(float64); ok && v >= m {
		v = m - 1
	}
	return v
}
