package upstreamkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
)

// Reader is what a Secret needs of pkg/secrets.Cache.
type Reader interface {
	GetSecretValue(ctx context.Context, name, stage string) (secrets.Value, error)
	Invalidate(ctx context.Context, name, stage string)
}

// Secret is an upstream API key kept in keyvault. It implements the openai
// provider's Credentials.
type Secret struct {
	src      Reader
	name     string
	field    string
	upstream string
	log      *slog.Logger
}

// New returns the key stored in the secret name (field: a JSON field of
// the value, or "" for the whole value) for the upstream named upstream.
func New(src Reader, name, field, upstream string, log *slog.Logger) *Secret {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Secret{src: src, name: name, field: field, upstream: upstream, log: log}
}

// errUnavailable is what the caller sees: nothing about the secret.
func errUnavailable() error {
	return apierr.Unavailable("The credentials of the upstream serving this model are not available; the operator must store them in keyvault.", 0)
}

// APIKey reads the key for the tenant of the call in ctx.
func (s *Secret) APIKey(ctx context.Context) (string, error) {
	v, err := s.src.GetSecretValue(ctx, s.name, "")
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		s.fail(ctx, "read failed", err)
		return "", errUnavailable()
	}
	key, err := extract(v, s.field)
	if err != nil {
		s.fail(ctx, "unusable value", err)
		return "", errUnavailable()
	}
	return key, nil
}

// Rejected drops the cached key so the next call reads the current one.
func (s *Secret) Rejected(ctx context.Context) {
	s.log.LogAttrs(ctx, slog.LevelWarn, "upstream rejected the API key from keyvault; reading it again",
		slog.String("upstream", s.upstream), slog.String("secret", s.name), slog.String("tenant_id", tenant(ctx)))
	s.src.Invalidate(ctx, s.name, "")
}

func (s *Secret) fail(ctx context.Context, what string, err error) {
	s.log.LogAttrs(ctx, slog.LevelError, "upstream API key: "+what,
		slog.String("upstream", s.upstream), slog.String("secret", s.name), slog.String("tenant_id", tenant(ctx)),
		slog.Bool("not_found", errors.Is(err, secrets.ErrNotFound)), slog.Bool("denied", errors.Is(err, secrets.ErrDenied)),
		slog.String("error", err.Error()))
}

func tenant(ctx context.Context) string {
	if p, ok := principal.FromContext(ctx); ok {
		return p.GetTenantId()
	}
	return ""
}

// extract returns the key in v: the whole (trimmed) value, or one string
// field of a JSON object. Errors never quote the value.
func extract(v secrets.Value, field string) (string, error) {
	raw := v.String
	if v.IsBinary() {
		raw = string(v.Binary)
	}
	if field != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			return "", errors.New("the value is not a JSON object")
		}
		f, ok := obj[field]
		if !ok {
			return "", fmt.Errorf("the JSON value has no field %q", field)
		}
		if err := json.Unmarshal(f, &raw); err != nil {
			return "", fmt.Errorf("field %q is not a string", field)
		}
	}
	key := strings.TrimSpace(raw)
	if key == "" {
		return "", errors.New("the value is empty")
	}
	if strings.ContainsAny(key, "\r\n\x00") {
		return "", errors.New("the value contains control characters")
	}
	return key, nil
}
