package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/apikey"
)

// TypeRampartAPIKey rotates a Rampart API key held in the secret
// (docs/adr/0009-keyvault-rotates-api-keys.md).
const TypeRampartAPIKey = "rampart-api-key" //nolint:gosec // G101: a function type name, not a credential

// MaxAPIKeyOverlap bounds the overlap a rotation may ask auth for.
const MaxAPIKeyOverlap = 365 * 24 * time.Hour

// APIKeyOptions configure the Rampart API key function.
type APIKeyOptions struct {
	// JSONKey names the field holding the key when the value is a JSON
	// object; empty means the whole value is the key.
	JSONKey string `json:"json_key,omitempty"`
	// OverlapSeconds is how long the replaced key keeps working (0: auth's
	// default).
	OverlapSeconds int64 `json:"overlap_seconds,omitempty"`
}

func (o APIKeyOptions) validate() error {
	if len(o.JSONKey) > 256 {
		return errors.New("api_key.json_key: at most 256 characters")
	}
	if o.OverlapSeconds < 0 || time.Duration(o.OverlapSeconds)*time.Second > MaxAPIKeyOverlap {
		return fmt.Errorf("api_key.overlap_seconds: must be 0-%d", int64(MaxAPIKeyOverlap/time.Second))
	}
	return nil
}

// KeyIdentity is what auth's VerifyKey says about a key: whose it is, and
// an assertion acting as it.
type KeyIdentity struct {
	Tenant    string
	KeyID     string
	Assertion string
}

// KeyState is the part of a key's metadata rotation needs.
type KeyState struct {
	// Active is true for a usable key that was not rotated yet.
	Active bool
	// ReplacedBy is the key that replaced this one in a rotation.
	ReplacedBy string
}

// KeyAuthority is auth as the API key function needs it. Implementations
// must never put a key's plaintext into an error.
type KeyAuthority interface {
	// VerifyKey checks apiKey and returns its identity.
	VerifyKey(ctx context.Context, apiKey string) (KeyIdentity, error)
	// KeyState returns the metadata of keyID, acting as id.
	KeyState(ctx context.Context, id KeyIdentity, keyID string) (KeyState, error)
	// RotateKey rotates keyID acting as id and returns the new key's
	// plaintext.
	RotateKey(ctx context.Context, id KeyIdentity, keyID string, overlap time.Duration) (string, error)
}

// APIKey rotates a Rampart API key by calling auth acting as the key it
// rotates: VerifyKey(current) yields an assertion for the key's own
// subject, RotateKey issues the replacement (the old key keeps working for
// the overlap), and testSecret verifies the new key with VerifyKey.
type APIKey struct {
	Options APIKeyOptions
	Auth    KeyAuthority
}

// CreateSecret implements Function. It is safe to run again after a crash
// that lost RotateKey's answer: the current key is then already replaced,
// and the replacement (whose plaintext was never stored) is rotated in
// turn, so the secret always ends up holding a key nobody else has seen.
func (k APIKey) CreateSecret(ctx context.Context, in Input) ([]byte, error) {
	cur, err := k.extract(in.Current, "current")
	if err != nil {
		return nil, err
	}
	id, err := k.identity(ctx, in.Tenant, cur, "current")
	if err != nil {
		return nil, err
	}
	st, err := k.Auth.KeyState(ctx, id, id.KeyID)
	if err != nil {
		return nil, fmt.Errorf("rampart-api-key: read current key: %w", err)
	}
	target := id.KeyID
	switch {
	case st.Active:
	case st.ReplacedBy != "":
		// A previous createSecret rotated the key and its answer was lost.
		target = st.ReplacedBy
	default:
		return nil, errors.New("rampart-api-key: the current key is neither active nor replaced; store a live key with PutSecretValue")
	}
	overlap := time.Duration(k.Options.OverlapSeconds) * time.Second
	newKey, err := k.Auth.RotateKey(ctx, id, target, overlap)
	if err != nil {
		return nil, fmt.Errorf("rampart-api-key: rotate key %s: %w", target, err)
	}
	if _, err := apikey.Parse(newKey); err != nil {
		return nil, errors.New("rampart-api-key: auth returned a malformed key")
	}
	return k.replace(in.Current, newKey)
}

// SetSecret implements Function: auth already knows the new key.
func (APIKey) SetSecret(context.Context, Input) error { return nil }

// TestSecret implements Function: the pending key must verify at auth, for
// the secret's tenant, as a different key than the current one.
func (k APIKey) TestSecret(ctx context.Context, in Input) error {
	pending, err := k.extract(in.Pending, "pending")
	if err != nil {
		return err
	}
	id, err := k.identity(ctx, in.Tenant, pending, "pending")
	if err != nil {
		return err
	}
	if cur, err := k.extract(in.Current, "current"); err == nil {
		if p, err := apikey.Parse(cur); err == nil && p.ID == id.KeyID {
			return errors.New("rampart-api-key: the pending key is the current key")
		}
	}
	return nil
}

func (k APIKey) identity(ctx context.Context, tenant, key, which string) (KeyIdentity, error) {
	id, err := k.Auth.VerifyKey(ctx, key)
	if err != nil {
		return KeyIdentity{}, fmt.Errorf("rampart-api-key: %s key does not verify: %w", which, err)
	}
	if id.Tenant != tenant {
		return KeyIdentity{}, fmt.Errorf("rampart-api-key: the %s key belongs to another tenant", which)
	}
	return id, nil
}

// extract returns the key from a secret value (never quoting the value).
func (k APIKey) extract(value []byte, which string) (string, error) {
	var s string
	if k.Options.JSONKey == "" {
		s = strings.TrimSpace(string(value))
	} else {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(value, &m); err != nil {
			return "", fmt.Errorf("rampart-api-key: the %s value is not a JSON object", which)
		}
		raw, ok := m[k.Options.JSONKey]
		if !ok || json.Unmarshal(raw, &s) != nil {
			return "", fmt.Errorf("rampart-api-key: the %s value has no string field %q", which, k.Options.JSONKey)
		}
	}
	if _, err := apikey.Parse(s); err != nil {
		return "", fmt.Errorf("rampart-api-key: the %s value is not a Rampart API key (format or checksum)", which)
	}
	return s, nil
}

// replace returns the value with the key swapped for newKey, keeping the
// other fields of a JSON value.
func (k APIKey) replace(value []byte, newKey string) ([]byte, error) {
	if k.Options.JSONKey == "" {
		return []byte(newKey), nil
	}
	out, err := setJSONField(value, k.Options.JSONKey, newKey)
	if err != nil {
		return nil, fmt.Errorf("rampart-api-key: %w", err)
	}
	return out, nil
}
