package policy

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rampart-platform/rampart/pkg/periodic"
)

// Actions.
const (
	ActionRead     = "read"     // values
	ActionDescribe = "describe" // metadata, listings, observability
	ActionWrite    = "write"    // create, put, update, tag, labels
	ActionRotate   = "rotate"   // rotate, cancel, rollback
	ActionDelete   = "delete"   // delete, restore
	ActionKMS      = "kms"      // GenerateDataKey, Decrypt, ReEncrypt
	ActionAdmin    = "admin"    // KEK rotation
)

var knownActions = []string{ActionRead, ActionDescribe, ActionWrite, ActionRotate, ActionDelete, ActionKMS, ActionAdmin, "*"}

// Rule is one allow rule. When both Roles and Scopes are given the
// principal needs one of the roles AND one of the scopes (role narrows, it
// never stands in for a scope); a principal holding the "admin" scope holds
// every scope (as principal.HasScope).
type Rule struct {
	Callers []string `json:"callers"`
	Roles   []string `json:"roles,omitempty"`
	Scopes  []string `json:"scopes,omitempty"`
	Names   []string `json:"names"`
	Actions []string `json:"actions"`
}

// Document is the policy file.
type Document struct {
	Rules []Rule `json:"rules"`
}

// Request is what is being decided.
type Request struct {
	Caller string   // SPIFFE ID
	Roles  []string // principal roles
	Scopes []string // principal scopes
	Name   string   // secret name ("" for KMS/admin actions)
	Action string
}

// Policy is a compiled, immutable policy.
type Policy struct {
	env   string
	rules []Rule
}

//go:embed default.json
var defaultPolicy []byte

// Default returns the embedded default policy.
func Default(env string) *Policy {
	p, err := Parse(defaultPolicy, env)
	if err != nil {
		panic(err) // embedded file is tested
	}
	return p
}

// Parse validates and compiles a policy document.
func Parse(data []byte, env string) (*Policy, error) {
	var d Document
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for i, r := range d.Rules {
		if len(r.Callers) == 0 {
			return nil, fmt.Errorf("policy: rules[%d].callers: required", i)
		}
		if len(r.Names) == 0 {
			return nil, fmt.Errorf("policy: rules[%d].names: required", i)
		}
		if len(r.Actions) == 0 {
			return nil, fmt.Errorf("policy: rules[%d].actions: required", i)
		}
		for _, a := range r.Actions {
			if !slices.Contains(knownActions, a) {
				return nil, fmt.Errorf("policy: rules[%d].actions: unknown action %q", i, a)
			}
		}
		for _, n := range r.Names {
			if !strings.HasPrefix(n, "/") && n != "*" {
				return nil, fmt.Errorf("policy: rules[%d].names: %q must start with /", i, n)
			}
			if _, err := path.Match(strings.ReplaceAll(n, "{env}", "x"), ""); err != nil {
				return nil, fmt.Errorf("policy: rules[%d].names: %q: %w", i, n, err)
			}
		}
	}
	return &Policy{env: env, rules: d.Rules}, nil
}

// Allowed reports whether req is allowed. A service-owned name (see Owner)
// allows its owner only, whatever the rules say, except for describe.
func (p *Policy) Allowed(req Request) bool {
	if !OwnerAllows(Owner(req.Name), req.Caller, req.Action) {
		return false
	}
	for _, r := range p.rules {
		if r.matches(req, p.env) {
			return true
		}
	}
	return false
}

func (r Rule) matches(req Request, env string) bool {
	if !slices.Contains(r.Callers, req.Caller) && !slices.Contains(r.Callers, "*") {
		return false
	}
	if !slices.Contains(r.Actions, req.Action) && !slices.Contains(r.Actions, "*") {
		return false
	}
	if len(r.Roles) > 0 && !slices.ContainsFunc(r.Roles, func(role string) bool { return slices.Contains(req.Roles, role) }) {
		return false
	}
	if len(r.Scopes) > 0 && !slices.ContainsFunc(r.Scopes, func(sc string) bool { return hasScope(req.Scopes, sc) }) {
		return false
	}
	for _, n := range r.Names {
		if MatchName(n, req.Name, env) {
			return true
		}
	}
	return false
}

// hasScope mirrors principal.HasScope: "admin" holds every scope.
func hasScope(have []string, want string) bool {
	return slices.Contains(have, want) || slices.Contains(have, scopeAdmin)
}

// MatchName matches a secret name against a pattern (see the package doc).
// An empty name (KMS and admin actions) matches only "*" or "/**".
func MatchName(pattern, name, env string) bool {
	if pattern == "*" || pattern == "/**" {
		return true
	}
	if name == "" {
		return false
	}
	ps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	ns := strings.Split(strings.TrimPrefix(name, "/"), "/")
	for i, seg := range ps {
		last := i == len(ps)-1
		if last && (seg == "*" || seg == "**") {
			return len(ns) > i
		}
		if i >= len(ns) {
			return false
		}
		if seg == "{env}" {
			if env != "" && ns[i] != env {
				return false
			}
			continue
		}
		if ok, _ := path.Match(seg, ns[i]); !ok {
			return false
		}
	}
	return len(ns) == len(ps)
}

// Holder keeps the current policy and reloads it from a file.
type Holder struct {
	cur  atomic.Pointer[Policy]
	file string
	env  string
	log  *slog.Logger
	mod  time.Time
	size int64
}

// NewHolder loads the policy from file, or the embedded default when file
// is "".
func NewHolder(file, env string, log *slog.Logger) (*Holder, error) {
	h := &Holder{file: file, env: env, log: log}
	if file == "" {
		h.cur.Store(Default(env))
		return h, nil
	}
	if err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Policy returns the current policy.
func (h *Holder) Policy() *Policy { return h.cur.Load() }

// Allowed decides req with the current policy.
func (h *Holder) Allowed(req Request) bool { return h.cur.Load().Allowed(req) }

// Reload re-reads the file; on error the previous policy stays.
func (h *Holder) Reload() error {
	if h.file == "" {
		return errors.New("policy: no file configured")
	}
	st, err := os.Stat(h.file)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	data, err := os.ReadFile(h.file)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(data, h.env)
	if err != nil {
		return err
	}
	h.cur.Store(p)
	h.mod, h.size = st.ModTime(), st.Size()
	return nil
}

// Watch reloads the file when its modification time or size changes, every
// interval, until ctx ends. A bad file is logged and ignored.
func (h *Holder) Watch(ctx context.Context, interval time.Duration) {
	if h.file == "" {
		return
	}
	periodic.Every(ctx, interval, func(context.Context) {
		st, err := os.Stat(h.file)
		if err != nil || (st.ModTime().Equal(h.mod) && st.Size() == h.size) {
			return
		}
		if err := h.Reload(); err != nil {
			h.log.Error("keyvault policy reload failed; keeping the previous policy", "err", err)
			return
		}
		h.log.Info("keyvault policy reloaded", "file", h.file)
	})
}
