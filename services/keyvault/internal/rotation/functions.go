package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Function types (stored in the secret's rotation configuration).
const (
	TypeRandomPassword = "random_password"
	TypeWebhook        = "webhook"
)

// PasswordPolicy shapes random passwords.
type PasswordPolicy struct {
	Length             int    `json:"length,omitempty"`
	ExcludeLowercase   bool   `json:"exclude_lowercase,omitempty"`
	ExcludeUppercase   bool   `json:"exclude_uppercase,omitempty"`
	ExcludeNumbers     bool   `json:"exclude_numbers,omitempty"`
	ExcludePunctuation bool   `json:"exclude_punctuation,omitempty"`
	JSONKey            string `json:"json_key,omitempty"`
}

// Config is a secret's rotation function configuration.
type Config struct {
	Type       string         `json:"type"`
	Password   PasswordPolicy `json:"password,omitempty"`
	WebhookURL string         `json:"webhook_url,omitempty"`
	APIKey     APIKeyOptions  `json:"api_key,omitempty"`
}

// Input is what a step sees. Pending is the AWSPENDING value (nil in
// createSecret). Tenant owns the secret.
type Input struct {
	Tenant    string
	Name      string
	VersionID string
	Current   []byte
	Pending   []byte
}

// Function implements the rotation steps. Every step must be idempotent:
// after a crash the step that was running is run again.
type Function interface {
	// CreateSecret returns the new value (stored as AWSPENDING).
	CreateSecret(ctx context.Context, in Input) ([]byte, error)
	// SetSecret installs the pending value in the target system.
	SetSecret(ctx context.Context, in Input) error
	// TestSecret checks the pending value works.
	TestSecret(ctx context.Context, in Input) error
}

// Validate checks a configuration against the webhook allow-list
// (URL prefixes).
func (c Config) Validate(webhookAllow []string) error {
	switch c.Type {
	case TypeRandomPassword:
		p := c.Password
		if p.Length != 0 && (p.Length < 8 || p.Length > 4096) {
			return errors.New("password_policy.length: must be 8-4096")
		}
		if p.ExcludeLowercase && p.ExcludeUppercase && p.ExcludeNumbers && p.ExcludePunctuation {
			return errors.New("password_policy: every character class is excluded")
		}
		return nil
	case TypeWebhook:
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("webhook_url: must be an absolute http(s) URL")
		}
		for _, p := range webhookAllow {
			if allowedBy(c.WebhookURL, p) {
				return nil
			}
		}
		return errors.New("webhook_url: not in the server's webhook allow-list")
	case TypeRampartAPIKey:
		return c.APIKey.validate()
	case "":
		return errors.New("rotation_function.type: required")
	}
	return fmt.Errorf("rotation_function.type: unknown %q", c.Type)
}

// Deps are what functions call out to.
type Deps struct {
	// HTTP is the webhook client (default: 10 s timeout).
	HTTP *http.Client
	// Keys is auth, for the Rampart API key function.
	Keys KeyAuthority
}

// ErrNoAuth means a Rampart API key rotation ran on a server without an
// auth connection.
var ErrNoAuth = errors.New("rotation: rampart-api-key needs the auth service (RAMPART_AUTH_ADDR)")

// allowedBy reports whether url starts with the allow-list prefix p at a
// boundary: "https://hooks.internal" admits "https://hooks.internal/x" but
// not "https://hooks.internal.evil.example/".
func allowedBy(url, p string) bool {
	if p == "" || !strings.HasPrefix(url, p) {
		return false
	}
	if len(url) == len(p) || strings.HasSuffix(p, "/") {
		return true
	}
	return strings.ContainsRune("/?#", rune(url[len(p)]))
}

// New returns the function for c.
func New(c Config, d Deps) (Function, error) {
	switch c.Type {
	case TypeRandomPassword:
		return RandomPassword{Policy: c.Password}, nil
	case TypeWebhook:
		client := d.HTTP
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Second}
		}
		return Webhook{URL: c.WebhookURL, Client: client}, nil
	case TypeRampartAPIKey:
		if d.Keys == nil {
			return nil, ErrNoAuth
		}
		return APIKey{Options: c.APIKey, Auth: d.Keys}, nil
	}
	return nil, fmt.Errorf("rotation: unknown function %q", c.Type)
}

// RandomPassword generates a password; set and test are no-ops (the value
// is consumed by whoever reads the secret).
type RandomPassword struct{ Policy PasswordPolicy }

const (
	lower = "abcdefghijklmnopqrstuvwxyz"
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digit = "0123456789"
	punct = "!#$%&()*+,-.:;<=>?@[]^_{|}~"
)

// CreateSecret implements Function: a password with at least one character
// of every included class. With Policy.JSONKey the current value must be a
// JSON object (or empty); the password replaces that one field and every
// other field is kept.
func (r RandomPassword) CreateSecret(_ context.Context, in Input) ([]byte, error) {
	n := r.Policy.Length
	if n == 0 {
		n = 32
	}
	var classes []string
	if !r.Policy.ExcludeLowercase {
		classes = append(classes, lower)
	}
	if !r.Policy.ExcludeUppercase {
		classes = append(classes, upper)
	}
	if !r.Policy.ExcludeNumbers {
		classes = append(classes, digit)
	}
	if !r.Policy.ExcludePunctuation {
		classes = append(classes, punct)
	}
	all := strings.Join(classes, "")
	out := make([]byte, n)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := randIndex(len(set))
		if err != nil {
			return nil, err
		}
		out[i] = set[c]
	}
	// Shuffle so the guaranteed characters are not always first.
	for i := len(out) - 1; i > 0; i-- {
		j, err := randIndex(i + 1)
		if err != nil {
			return nil, err
		}
		out[i], out[j] = out[j], out[i]
	}
	if r.Policy.JSONKey != "" {
		// A database credential: only the configured field changes.
		b, err := setJSONField(in.Current, r.Policy.JSONKey, string(out))
		if err != nil {
			return nil, fmt.Errorf("random_password: %w; cannot set field %q", err, r.Policy.JSONKey)
		}
		return b, nil
	}
	return out, nil
}

func randIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("rotation: random: %w", err)
	}
	return int(v.Int64()), nil
}

// SetSecret implements Function.
func (RandomPassword) SetSecret(context.Context, Input) error { return nil }

// TestSecret implements Function.
func (RandomPassword) TestSecret(context.Context, Input) error { return nil }

// Webhook generates a random password and POSTs setSecret and testSecret
// to an internal URL: {"step","secret_name","version_id","pending_value"}.
// A non-2xx answer fails the step; redirects are not followed.
type Webhook struct {
	URL    string
	Client *http.Client
}

// CreateSecret implements Function.
func (w Webhook) CreateSecret(ctx context.Context, in Input) ([]byte, error) {
	return RandomPassword{}.CreateSecret(ctx, in)
}

// SetSecret implements Function.
func (w Webhook) SetSecret(ctx context.Context, in Input) error { return w.call(ctx, "setSecret", in) }

// TestSecret implements Function.
func (w Webhook) TestSecret(ctx context.Context, in Input) error {
	return w.call(ctx, "testSecret", in)
}

func (w Webhook) call(ctx context.Context, step string, in Input) error {
	body, err := json.Marshal(map[string]string{
		"step": step, "secret_name": in.Name, "version_id": in.VersionID, "pending_value": string(in.Pending),
	})
	if err != nil {
		return fmt.Errorf("rotation webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rotation webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	// No redirects, whatever client was passed: the allow-list checked
	// w.URL only, and a 307/308 would re-POST the pending value to wherever
	// the webhook points (ADR 0064). A 3xx fails the step like any non-2xx.
	client := *w.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		// The URL error may quote the URL but never the body.
		return fmt.Errorf("rotation webhook %s: request failed", step)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("rotation webhook %s: status %d", step, resp.StatusCode)
	}
	return nil
}
