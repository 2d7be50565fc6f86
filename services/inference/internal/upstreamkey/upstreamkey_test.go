package upstreamkey_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/secrets"
	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/upstreamkey"
)

// source is a static secrets.Source whose value can be rotated.
type source struct {
	mu    sync.Mutex
	val   secrets.Value
	err   error
	reads int
}

func (s *source) GetSecretValue(context.Context, string, string) (secrets.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.val, s.err
}

func (s *source) set(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.val = secrets.Value{String: v}
}

func TestRotationWithinCacheTTL(t *testing.T) {
	src := &source{val: secrets.Value{String: "sk-old"}}
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cache, err := secrets.NewCache(src, secrets.CacheOptions{TTL: time.Minute, Now: clock, Attempts: 1})
	require.NoError(t, err)
	k := upstreamkey.New(cache, "/prod/inference/api-key/openai", "", "openai", nil)

	key, err := k.APIKey(t.Context())
	require.NoError(t, err)
	require.Equal(t, "sk-old", key)
	src.set("sk-new")
	key, err = k.APIKey(t.Context())
	require.NoError(t, err)
	require.Equal(t, "sk-old", key, "cached within the TTL")

	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	key, err = k.APIKey(t.Context())
	require.NoError(t, err)
	require.Equal(t, "sk-new", key, "rotation picked up after the TTL, without a restart")

	src.set("sk-newer")
	k.Rejected(t.Context())
	key, err = k.APIKey(t.Context())
	require.NoError(t, err)
	require.Equal(t, "sk-newer", key, "a rejected key is read again at once")
	require.Equal(t, 3, src.reads)
}

func TestValues(t *testing.T) {
	tests := []struct {
		name, value, field, want string
		binary                   bool
	}{
		{"plain", "sk-1", "", "sk-1", false},
		{"trimmed", "  sk-1\n", "", "sk-1", false},
		{"binary", "sk-bin", "", "sk-bin", true},
		{"json field", `{"api_key":"sk-2","org":"o"}`, "api_key", "sk-2", false},
		{"empty", " \n", "", "", false},
		{"control chars", "sk-1\nX-Evil: 1", "", "", false},
		{"not json", "sk-3", "api_key", "", false},
		{"missing field", `{"key":"sk-4"}`, "api_key", "", false},
		{"field not a string", `{"api_key":4}`, "api_key", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := secrets.Value{String: tt.value}
			if tt.binary {
				v = secrets.Value{Binary: []byte(tt.value)}
			}
			src := secrets.SourceFunc(func(context.Context, string, string) (secrets.Value, error) { return v, nil })
			cache, err := secrets.NewCache(src, secrets.CacheOptions{})
			require.NoError(t, err)
			key, err := upstreamkey.New(cache, "/p/inference/k/x", tt.field, "u", nil).APIKey(t.Context())
			if tt.want == "" {
				e, ok := apierr.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, apierr.KindUnavailable, e.Kind)
				require.NotContains(t, e.Message, "sk-")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, key)
		})
	}
}

func TestErrorsHideTheCause(t *testing.T) {
	for _, cause := range []error{secrets.ErrNotFound, secrets.ErrDenied, fmt.Errorf("dial 10.0.0.7:7002: %w", context.DeadlineExceeded)} {
		src := secrets.SourceFunc(func(context.Context, string, string) (secrets.Value, error) { return secrets.Value{}, cause })
		cache, err := secrets.NewCache(src, secrets.CacheOptions{Attempts: 1})
		require.NoError(t, err)
		_, err = upstreamkey.New(cache, "/p/inference/k/x", "", "u", nil).APIKey(t.Context())
		e, ok := apierr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, apierr.KindUnavailable, e.Kind)
		require.NotContains(t, e.Error(), "10.0.0.7")
		require.NotContains(t, e.Error(), "/p/inference")
	}
}
