package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/rampart-platform/rampart/pkg/pki"
)

// ReflectionMethods are the gRPC reflection services (v1 and v1alpha),
// which only the operator CLI identity may call (pkg/serve registers them
// in the dev profile, or in prod with -grpc-reflection).
var ReflectionMethods = []string{"/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*"}

// OperatorCLI is the service name in the operator CLI's certificate
// (`rampart` and grpcurl with .rampart/pki/rampart-cli.crt).
const OperatorCLI = "rampart-cli"

// HealthMethods is the method pattern every verified peer may call.
const HealthMethods = "/grpc.health.v1.Health/*"

// AnyCaller in a rule's callers admits every verified mTLS peer.
const AnyCaller = "*"

// Policy is a Rampart authorization policy.
type Policy struct {
	Rules []Rule `json:"rules"`
}

// Rule allows the callers to call the methods.
type Rule struct {
	Methods []string `json:"methods"`
	Callers []string `json:"callers"`
}

var methodRE = regexp.MustCompile(`^/[A-Za-z_][A-Za-z0-9_.]*/(\*|[A-Za-z_][A-Za-z0-9_]*)$`)

// ParsePolicy decodes and validates a Rampart policy. Unknown fields are
// errors so a typo cannot silently drop a rule.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("authz policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports the first malformed rule.
func (p *Policy) Validate() error {
	if len(p.Rules) == 0 {
		return errors.New("authz policy: no rules")
	}
	for i, r := range p.Rules {
		if len(r.Methods) == 0 {
			return fmt.Errorf("authz policy: rule %d: no methods", i)
		}
		if len(r.Callers) == 0 {
			return fmt.Errorf("authz policy: rule %d: no callers", i)
		}
		for _, m := range r.Methods {
			if !methodRE.MatchString(m) {
				return fmt.Errorf("authz policy: rule %d: method %q is not /pkg.Service/Method or /pkg.Service/*", i, m)
			}
		}
		for _, c := range r.Callers {
			if c == AnyCaller {
				continue
			}
			if _, err := pki.ParseID(c); err != nil {
				return fmt.Errorf("authz policy: rule %d: caller: %w", i, err)
			}
		}
	}
	return nil
}

// sdkPolicy mirrors the subset of grpc-go's SDK authorization policy we emit.
type sdkPolicy struct {
	Name       string    `json:"name"`
	AllowRules []sdkRule `json:"allow_rules"`
}

type sdkRule struct {
	Name   string `json:"name"`
	Source struct {
		Principals []string `json:"principals"`
	} `json:"source"`
	Request struct {
		Paths []string `json:"paths"`
	} `json:"request"`
}

// Compile translates a Rampart policy into grpc-go's SDK policy JSON. Only
// allow rules are emitted: anything they do not match is denied.
func Compile(policyJSON []byte) (string, error) {
	p, err := ParsePolicy(policyJSON)
	if err != nil {
		return "", err
	}
	rules := append(p.Rules, Rule{Methods: []string{HealthMethods}, Callers: []string{AnyCaller}},
		Rule{Methods: ReflectionMethods, Callers: []string{pki.ServiceID(OperatorCLI)}})
	out := sdkPolicy{Name: "rampart"}
	for i, r := range rules {
		var sr sdkRule
		sr.Name = "rule-" + strconv.Itoa(i)
		// "/pkg.Service/*" is already grpc-go's prefix syntax, and "*" as a
		// principal means "any authenticated peer", so both pass through.
		sr.Request.Paths = r.Methods
		sr.Source.Principals = r.Callers
		out.AllowRules = append(out.AllowRules, sr)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("authz policy: %w", err)
	}
	return string(b), nil
}
