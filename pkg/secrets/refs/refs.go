package refs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the service a reference points into.
type Kind int

// Reference kinds.
const (
	KindSecretsManager Kind = iota + 1 // {{resolve:secretsmanager:...}}
	KindSSMSecure                      // {{resolve:ssm-secure:...}}
	KindSSM                            // {{resolve:ssm:...}}
)

// String names the kind as written in references.
func (k Kind) String() string {
	switch k {
	case KindSecretsManager:
		return "secretsmanager"
	case KindSSMSecure:
		return "ssm-secure"
	case KindSSM:
		return "ssm"
	}
	return "unknown"
}

// Ref is a parsed reference.
type Ref struct {
	Kind Kind
	// Name is the secret id (name or ARN) or parameter name.
	Name string
	// JSONKey selects one key of a JSON secret (secretsmanager only).
	JSONKey string
	// VersionStage / VersionID select a secret version (at most one).
	VersionStage string
	VersionID    string
	// ParamVersion selects a parameter version (0 = latest).
	ParamVersion int64
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("refs: malformed reference")

const (
	prefix = "{{resolve:"
	suffix = "}}"
	// MaxLen bounds a reference.
	MaxLen = 4096
)

// IsReference reports whether s looks like a dynamic reference (it may
// still fail to parse).
func IsReference(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, prefix) && strings.HasSuffix(s, suffix)
}

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// Parse parses one reference (the whole string, surrounding blanks
// ignored).
func Parse(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxLen {
		return Ref{}, syntaxf("longer than %d characters", MaxLen)
	}
	if !IsReference(s) {
		return Ref{}, syntaxf("must look like {{resolve:service:...}}")
	}
	body := s[len(prefix) : len(s)-len(suffix)]
	svc, rest, ok := strings.Cut(body, ":")
	if !ok || rest == "" {
		return Ref{}, syntaxf("missing name")
	}
	switch svc {
	case "secretsmanager":
		return parseSM(rest)
	case "ssm-secure", "ssm":
		k := KindSSM
		if svc == "ssm-secure" {
			k = KindSSMSecure
		}
		return parseSSM(k, rest)
	default:
		return Ref{}, syntaxf("unknown service %q (want secretsmanager, ssm-secure or ssm)", svc)
	}
}

func parseSM(rest string) (Ref, error) {
	r := Ref{Kind: KindSecretsManager}
	var parts []string
	if strings.HasPrefix(rest, "arn:") {
		// arn:partition:secretsmanager:region:account:secret:name
		all := strings.Split(rest, ":")
		if len(all) < 7 || all[2] != "secretsmanager" || all[5] != "secret" || all[6] == "" {
			return Ref{}, syntaxf("malformed secret ARN")
		}
		r.Name = strings.Join(all[:7], ":")
		parts = all[7:]
		if err := checkChars("secret ARN name", all[6], secretNameChar); err != nil {
			return Ref{}, err
		}
	} else {
		parts = strings.Split(rest, ":")
		r.Name, parts = parts[0], parts[1:]
		if r.Name == "" {
			return Ref{}, syntaxf("missing name")
		}
		if err := checkChars("secret id", r.Name, secretNameChar); err != nil {
			return Ref{}, err
		}
	}
	if len(parts) > 4 {
		return Ref{}, syntaxf("too many segments")
	}
	get := func(i int) string {
		if i < len(parts) {
			return parts[i]
		}
		return ""
	}
	if f := get(0); f != "" && f != "SecretString" {
		return Ref{}, syntaxf("secret-string segment must be SecretString, got %q", f)
	}
	r.JSONKey, r.VersionStage, r.VersionID = get(1), get(2), get(3)
	if r.VersionStage != "" && r.VersionID != "" {
		return Ref{}, syntaxf("version-stage and version-id are mutually exclusive")
	}
	if err := checkChars("json-key", r.JSONKey, jsonKeyChar); err != nil {
		return Ref{}, err
	}
	if err := checkChars("version-stage", r.VersionStage, stageChar); err != nil {
		return Ref{}, err
	}
	if err := checkChars("version-id", r.VersionID, versionIDChar); err != nil {
		return Ref{}, err
	}
	return r, nil
}

func parseSSM(k Kind, rest string) (Ref, error) {
	name, ver, hasVer := strings.Cut(rest, ":")
	r := Ref{Kind: k, Name: name}
	if name == "" {
		return Ref{}, syntaxf("missing parameter name")
	}
	if len(name) > 2048 {
		return Ref{}, syntaxf("parameter name longer than 2048 characters")
	}
	if err := checkChars("parameter name", name, paramChar); err != nil {
		return Ref{}, err
	}
	if hasVer {
		n, err := strconv.ParseInt(ver, 10, 64)
		if err != nil || n < 1 {
			return Ref{}, syntaxf("parameter version must be a positive integer, got %q", ver)
		}
		r.ParamVersion = n
	}
	return r, nil
}

func secretNameChar(c rune) bool {
	return isAlnum(c) || strings.ContainsRune("/_+=.@-", c)
}
func paramChar(c rune) bool     { return isAlnum(c) || strings.ContainsRune("/_.-", c) }
func stageChar(c rune) bool     { return isAlnum(c) || strings.ContainsRune("_-", c) }
func versionIDChar(c rune) bool { return isAlnum(c) || c == '-' }
func jsonKeyChar(c rune) bool   { return c > 0x1f && c != 0x7f && c != ':' && c != '{' && c != '}' }

func isAlnum(c rune) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func checkChars(field, s string, ok func(rune) bool) error {
	for _, c := range s {
		if !ok(c) {
			return syntaxf("%s contains a character that is not allowed", field)
		}
	}
	return nil
}

// String renders the reference canonically (Parse(r.String()) == r).
func (r Ref) String() string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(r.Kind.String())
	b.WriteByte(':')
	b.WriteString(r.Name)
	switch r.Kind {
	case KindSecretsManager:
		if r.JSONKey != "" || r.VersionStage != "" || r.VersionID != "" {
			b.WriteString(":SecretString:" + r.JSONKey)
			if r.VersionStage != "" || r.VersionID != "" {
				b.WriteString(":" + r.VersionStage)
				if r.VersionID != "" {
					b.WriteString(":" + r.VersionID)
				}
			}
		}
	default:
		if r.ParamVersion > 0 {
			b.WriteString(":" + strconv.FormatInt(r.ParamVersion, 10))
		}
	}
	b.WriteString(suffix)
	return b.String()
}

// SecretsManager reads a secret's string value.
type SecretsManager interface {
	GetSecretString(ctx context.Context, secretID, versionStage, versionID string) (string, error)
}

// ParameterStore reads a parameter (decrypting SecureString when decrypt).
type ParameterStore interface {
	GetParameter(ctx context.Context, name string, version int64, decrypt bool) (string, error)
}

// Resolver resolves references. A nil backend makes its references fail.
type Resolver struct {
	SM  SecretsManager
	SSM ParameterStore
}

// ErrNoBackend means a reference points at a service the resolver has no
// client for.
var ErrNoBackend = errors.New("refs: no backend for reference")

// ErrJSONKey means the json-key is missing or the secret is not a JSON
// object.
var ErrJSONKey = errors.New("refs: json key not found")

// Resolve returns the value s refers to; a string that is not a reference
// is returned unchanged. A parameter whose value is a secretsmanager
// reference is resolved one more level (never further).
func (r Resolver) Resolve(ctx context.Context, s string) (string, error) {
	if !IsReference(s) {
		return s, nil
	}
	ref, err := Parse(s)
	if err != nil {
		return "", err
	}
	return r.resolve(ctx, ref, true)
}

func (r Resolver) resolve(ctx context.Context, ref Ref, follow bool) (string, error) {
	switch ref.Kind {
	case KindSecretsManager:
		if r.SM == nil {
			return "", fmt.Errorf("%w: secretsmanager", ErrNoBackend)
		}
		v, err := r.SM.GetSecretString(ctx, ref.Name, ref.VersionStage, ref.VersionID)
		if err != nil {
			return "", err
		}
		if ref.JSONKey == "" {
			return v, nil
		}
		return jsonField(v, ref.JSONKey)
	default:
		if r.SSM == nil {
			return "", fmt.Errorf("%w: ssm", ErrNoBackend)
		}
		v, err := r.SSM.GetParameter(ctx, ref.Name, ref.ParamVersion, ref.Kind == KindSSMSecure)
		if err != nil {
			return "", err
		}
		if follow && IsReference(v) {
			inner, err := Parse(v)
			if err != nil {
				return "", fmt.Errorf("parameter %q: %w", ref.Name, err)
			}
			if inner.Kind != KindSecretsManager {
				return "", syntaxf("parameter %q refers to another parameter; only secretsmanager references are followed", ref.Name)
			}
			return r.resolve(ctx, inner, false)
		}
		return v, nil
	}
}

func jsonField(v, key string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return "", fmt.Errorf("%w: the secret is not a JSON object", ErrJSONKey)
	}
	raw, ok := m[key]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrJSONKey, key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	return string(raw), nil
}
