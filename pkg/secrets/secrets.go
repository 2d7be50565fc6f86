package secrets

import (
	"context"
	"errors"
	"time"
)

// StageCurrent is the default staging label.
const StageCurrent = "AWSCURRENT"

// Value is one secret version as read. Binary is set for binary secrets,
// String otherwise. Callers must not modify Binary.
type Value struct {
	Name      string
	VersionID string
	Stages    []string
	String    string
	Binary    []byte
	CreatedAt time.Time
}

// IsBinary reports whether the value is binary.
func (v Value) IsBinary() bool { return v.Binary != nil }

// Source reads secret values. stage "" means AWSCURRENT.
type Source interface {
	GetSecretValue(ctx context.Context, name, stage string) (Value, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, name, stage string) (Value, error)

// GetSecretValue calls f.
func (f SourceFunc) GetSecretValue(ctx context.Context, name, stage string) (Value, error) {
	return f(ctx, name, stage)
}

// Permanent errors: retrying cannot help, stale values are not served for
// them and they do not count against the circuit breaker. Sources wrap them
// (errors.Is works); every other error is treated as transient.
var (
	ErrNotFound = errors.New("secrets: not found")
	ErrDenied   = errors.New("secrets: access denied")
	ErrInvalid  = errors.New("secrets: invalid request")
)

// ErrUnavailable wraps transient failures the cache could not hide (no
// fresh or stale-enough value): the source is down or the breaker is open.
var ErrUnavailable = errors.New("secrets: source unavailable")

// IsPermanent reports whether err is one of the permanent errors.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDenied) || errors.Is(err, ErrInvalid)
}
