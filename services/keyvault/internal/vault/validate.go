package vault

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits.
const (
	MaxNameLen        = 512
	MaxValueSize      = 64 << 10
	MaxDescriptionLen = 2048
	MaxTags           = 50
	MaxBatch          = 20
	MinRecoveryDays   = 7
	MaxRecoveryDays   = 30
)

// Staging labels with special meaning.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// Content types (values match the proto enum).
const (
	ContentText   = 1
	ContentJSON   = 2
	ContentBinary = 3
)

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '/' || c == '_' || c == '+' || c == '=' || c == '.' || c == '@' || c == '-'
}

// CanonicalName validates a secret name and returns it with a leading
// slash (REST paths carry it without one). Names are
// /{env}/{service}/{type}/{name}: at least four non-empty segments of
// A-Za-z0-9_+=.@- and at most 512 characters.
func CanonicalName(name string) (string, error) {
	if name == "" {
		return "", invalid("name", "required")
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if len(name) > MaxNameLen {
		return "", invalid("name", "longer than %d characters", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			return "", invalid("name", "character %q at offset %d is not allowed (A-Za-z0-9/_+=.@-)", name[i], i)
		}
	}
	// The segments are checked in place (every call names a secret; a
	// strings.Split here allocated on each one).
	if strings.Count(name[1:], "/") < 3 {
		return "", invalid("name", "must be /{env}/{service}/{type}/{name}")
	}
	for rest, more := name[1:], true; more; {
		var s string
		s, rest, more = strings.Cut(rest, "/")
		if s == "" {
			return "", invalid("name", "empty path segment")
		}
		if s == "." || s == ".." {
			return "", invalid("name", "segment %q is not allowed", s)
		}
	}
	return name, nil
}

// Value is a secret value as given by a caller.
type Value struct {
	String      string
	Binary      []byte
	IsBinary    bool
	ContentType int
}

func (v Value) bytes() []byte {
	if v.IsBinary {
		return v.Binary
	}
	return []byte(v.String)
}

// emptyValue is the refusal of an empty version value. A version is a
// value: AWS Secrets Manager takes SecretString and SecretBinary of 1 to
// 65536 bytes and needs one of them, and an empty version would read back
// as a secret that "has a value" which no consumer can use (an empty API
// key, password or token fails later and far from its cause). A secret
// without a value is made by CreateSecret without one (ADR 0084).
const emptyValue = "must not be empty: a version needs 1 to 65536 bytes in secret_string or secret_binary (create the secret without a value to store one later)"

func validateValue(v *Value, secretContentType int) error {
	if v.ContentType == 0 {
		v.ContentType = secretContentType
		if v.ContentType == 0 {
			v.ContentType = ContentText
		}
		if v.IsBinary {
			v.ContentType = ContentBinary
		} else if v.ContentType == ContentBinary {
			v.ContentType = ContentText
		}
	}
	if v.ContentType < ContentText || v.ContentType > ContentBinary {
		return invalid("content_type", "unknown content type %d", v.ContentType)
	}
	if v.IsBinary {
		if len(v.Binary) == 0 {
			return invalid("secret_binary", "%s", emptyValue)
		}
		if v.ContentType != ContentBinary {
			return invalid("content_type", "must be binary for secret_binary")
		}
		if len(v.Binary) > MaxValueSize {
			return invalid("secret_binary", "larger than %d bytes", MaxValueSize)
		}
		return nil
	}
	if v.ContentType == ContentBinary {
		return invalid("secret_binary", "%s", emptyValue)
	}
	if v.String == "" {
		return invalid("secret_string", "%s", emptyValue)
	}
	if len(v.String) > MaxValueSize {
		return invalid("secret_string", "larger than %d bytes", MaxValueSize)
	}
	if !utf8.ValidString(v.String) {
		return invalid("secret_string", "not valid UTF-8 (use secret_binary)")
	}
	if v.ContentType == ContentJSON && !json.Valid([]byte(v.String)) {
		return invalid("secret_string", "not valid JSON (content type json)")
	}
	return nil
}

func validToken(t string) error {
	if t == "" {
		return nil
	}
	if len(t) < 32 || len(t) > 64 {
		return invalid("client_request_token", "must be 32-64 characters")
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return invalid("client_request_token", "only A-Za-z0-9-_ allowed")
		}
	}
	return nil
}

func validStage(field, s string) error {
	if s == "" || len(s) > 256 {
		return invalid(field, "must be 1-256 characters")
	}
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) || s[i] == '/' {
			return invalid(field, "character %q is not allowed", s[i])
		}
	}
	return nil
}

func validTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return invalid("tags", "at most %d", MaxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || !utf8.ValidString(t.Key) {
			return invalid("tags.key", "must be 1-128 characters")
		}
		if len(t.Value) > 256 || !utf8.ValidString(t.Value) {
			return invalid("tags.value", "at most 256 characters")
		}
		if seen[t.Key] {
			return invalid("tags.key", "duplicate key %q", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}
