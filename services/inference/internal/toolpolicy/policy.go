package toolpolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// ToolSpec is one allowed tool.
type ToolSpec struct {
	Name string `json:"name"`
	// Schema is the JSON Schema the arguments must satisfy (empty = any object).
	Schema json.RawMessage `json:"schema,omitempty"`
	// RequiresConfirmation marks calls a human must confirm before they run.
	RequiresConfirmation bool `json:"requires_confirmation,omitempty"`
}

// TenantPolicy is a tenant's allow-list.
type TenantPolicy struct {
	Tools []ToolSpec `json:"tools"`
	// Keys narrows the list for specific API key ids.
	Keys map[string][]string `json:"keys,omitempty"`
	// AnyFunction allows every function tool a request offers, not only
	// the listed ones (listed tools keep their schema and confirmation
	// rule; others only need arguments that are a JSON object). Meant for
	// development stacks (`rampart dev`), never for production tenants.
	AnyFunction bool `json:"any_function,omitempty"`
}

// File is the policy file.
type File struct {
	Default *TenantPolicy           `json:"default,omitempty"`
	Tenants map[string]TenantPolicy `json:"tenants,omitempty"`
}

// Load reads a policy file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tool policy: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tool policy %s: %w", path, err)
	}
	return &f, nil
}

type tool struct {
	spec   ToolSpec
	schema *jsonschema.Schema
}

type compiled struct {
	tools map[string]*tool
	any   bool
	// all is the set of every tool of c; keys the narrowed set of each key
	// the policy names. Built once: For hands them out (a Set is never
	// modified), so a request allocates none (issue 15).
	all  *Set
	keys map[string]*Set
}

// Policy answers tool questions.
type Policy struct {
	def     *compiled
	tenants map[string]*compiled
}

// New compiles f (nil = deny all tools).
func New(f *File) (*Policy, error) {
	p := &Policy{tenants: map[string]*compiled{}}
	if f == nil {
		return p, nil
	}
	if f.Default != nil {
		c, err := compile("default", f.Default)
		if err != nil {
			return nil, err
		}
		p.def = c
	}
	for id, tp := range f.Tenants {
		c, err := compile("tenant "+id, &tp)
		if err != nil {
			return nil, err
		}
		p.tenants[id] = c
	}
	return p, nil
}

func compile(where string, tp *TenantPolicy) (*compiled, error) {
	c := &compiled{tools: map[string]*tool{}, any: tp.AnyFunction, keys: make(map[string]*Set, len(tp.Keys))}
	c.all = &Set{c: c}
	for i, s := range tp.Tools {
		if s.Name == "" {
			return nil, fmt.Errorf("tool policy %s: tools[%d]: name is required", where, i)
		}
		t := &tool{spec: s}
		if len(s.Schema) > 0 {
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.Schema))
			if err != nil {
				return nil, fmt.Errorf("tool policy %s: tool %s: schema: %w", where, s.Name, err)
			}
			comp := jsonschema.NewCompiler()
			url := "mem:///" + s.Name + ".json"
			if err := comp.AddResource(url, doc); err != nil {
				return nil, fmt.Errorf("tool policy %s: tool %s: schema: %w", where, s.Name, err)
			}
			sch, err := comp.Compile(url)
			if err != nil {
				return nil, fmt.Errorf("tool policy %s: tool %s: schema: %w", where, s.Name, err)
			}
			t.schema = sch
		}
		c.tools[s.Name] = t
	}
	for key, names := range tp.Keys {
		for _, n := range names {
			if _, ok := c.tools[n]; !ok {
				return nil, fmt.Errorf("tool policy %s: key %s allows %q, which the tenant does not", where, key, n)
			}
		}
		c.keys[key] = &Set{c: c, keep: append([]string{}, names...)}
	}
	return c, nil
}

// Set is the effective allow-list of one tenant's key.
type Set struct {
	c    *compiled
	keep []string // nil = all of c
}

// noTools is the set of a tenant without a policy: no tools.
var noTools = &Set{}

// For returns the allow-list for a tenant's key. The set is shared: it
// must not be modified (none of Set's methods does).
func (p *Policy) For(tenant, key string) *Set {
	c, ok := p.tenants[tenant]
	if !ok {
		c = p.def
	}
	if c == nil {
		return noTools
	}
	if s, ok := c.keys[key]; ok {
		return s
	}
	return c.all
}

func (s *Set) lookup(name string) *tool {
	if s.c == nil {
		return nil
	}
	if s.keep != nil && !slices.Contains(s.keep, name) {
		return nil
	}
	t, ok := s.c.tools[name]
	if !ok && s.c.any {
		return &tool{spec: ToolSpec{Name: name}}
	}
	return t
}

// narrowed reports whether the tenant's policy allows name but this key's
// list does not.
func (s *Set) narrowed(name string) bool {
	if s.c == nil || s.keep == nil || slices.Contains(s.keep, name) {
		return false
	}
	_, ok := s.c.tools[name]
	return ok || s.c.any
}

// Decision records one policy outcome for the audit log.
type Decision struct {
	Tool    string
	Outcome string // offered, refused, allowed, stripped, requires_confirmation
	Reason  string
}

// CheckDefinitions refuses a request offering a tool outside the list.
func (s *Set) CheckDefinitions(tools []wire.Tool) ([]Decision, error) {
	var ds []Decision
	for i, t := range tools {
		if s.lookup(t.Function.Name) == nil {
			param := fmt.Sprintf("tools[%d].function.name", i)
			// Say which policy refused it: the deployment's tool policy
			// file (RAMPART_INFERENCE_TOOL_POLICY) decides per tenant, and
			// only its "keys" lists narrow it per API key.
			if s.narrowed(t.Function.Name) {
				ds = append(ds, Decision{Tool: t.Function.Name, Outcome: "refused", Reason: "not in the key's list"})
				return ds, apierr.InvalidCode("tool_not_allowed", param,
					"The tool %q is allowed for this tenant, but not for this API key: the tenant's tool policy limits this key to other tools.", t.Function.Name)
			}
			ds = append(ds, Decision{Tool: t.Function.Name, Outcome: "refused", Reason: "not in allow-list"})
			return ds, apierr.InvalidCode("tool_not_allowed", param,
				"The tool %q is not allowed by this tenant's tool policy (set by the deployment's tool policy file, RAMPART_INFERENCE_TOOL_POLICY; without one no tool may be offered).", t.Function.Name)
		}
		ds = append(ds, Decision{Tool: t.Function.Name, Outcome: "offered"})
	}
	return ds, nil
}

// Filtered is the outcome of checking model-proposed calls.
type Filtered struct {
	Allowed   []wire.ToolCall
	Confirm   []wire.ToolCall
	Stripped  []wire.StrippedCall
	Decisions []Decision
}

// FilterCalls checks the calls a model proposed. offered are the tool names
// the request offered; a call to a tool not offered is stripped too.
func (s *Set) FilterCalls(calls []wire.ToolCall, offered []wire.Tool) Filtered {
	var f Filtered
	for _, c := range calls {
		name := c.Function.Name
		t := s.lookup(name)
		reason := ""
		switch {
		case t == nil:
			reason = "tool not in allow-list"
		case !slices.ContainsFunc(offered, func(o wire.Tool) bool { return o.Function.Name == name }):
			reason = "tool was not offered in the request"
		default:
			reason = t.validate(c.Function.Arguments)
		}
		switch {
		case reason != "":
			f.Stripped = append(f.Stripped, wire.StrippedCall{ID: c.ID, Name: name, Reason: reason})
			f.Decisions = append(f.Decisions, Decision{Tool: name, Outcome: "stripped", Reason: reason})
		case t.spec.RequiresConfirmation:
			f.Confirm = append(f.Confirm, c)
			f.Decisions = append(f.Decisions, Decision{Tool: name, Outcome: "requires_confirmation"})
		default:
			f.Allowed = append(f.Allowed, c)
			f.Decisions = append(f.Decisions, Decision{Tool: name, Outcome: "allowed"})
		}
	}
	return f
}

// validate returns "" when args satisfy the schema, else a reason that
// names the failing location but never echoes argument values.
func (t *tool) validate(args string) string {
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(args))
	if err != nil {
		return "arguments are not valid JSON"
	}
	if _, ok := v.(map[string]any); !ok {
		return "arguments must be a JSON object"
	}
	if t.schema == nil {
		return ""
	}
	if err := t.schema.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errorsAs(err, &ve) {
			loc := "/" + strings.Join(ve.InstanceLocation, "/")
			if causes := leaf(ve); len(causes.InstanceLocation) > 0 {
				loc = "/" + strings.Join(causes.InstanceLocation, "/")
			}
			return "arguments fail the tool's schema at " + loc
		}
		return "arguments fail the tool's schema"
	}
	return ""
}

func leaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	return ve
}
