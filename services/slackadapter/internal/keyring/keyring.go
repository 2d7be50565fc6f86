package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Errors.
var (
	ErrOpen  = errors.New("keyring: cannot open sealed value")
	ErrState = errors.New("keyring: invalid OAuth state")
)

// Keyring seals values and signs states.
type Keyring struct {
	aead     cipher.AEAD
	stateKey []byte
}

// Load reads the key file at path, creating it (0600) if missing.
func Load(path string) (*Keyring, error) {
	key, err := os.ReadFile(path) //nolint:gosec // operator-chosen data dir
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // see above
		if err != nil {
			return nil, fmt.Errorf("keyring: create %s: %w", path, err)
		}
		if _, err := f.Write(key); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("keyring: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	return New(key)
}

// New builds a Keyring from a 32-byte key.
func New(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("keyring: key must be 32 bytes, got %d", len(key))
	}
	b, err := aes.NewCipher(derive(key, "seal"))
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: g, stateKey: derive(key, "oauth-state")}, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rampart-slackadapter/" + label))
	return m.Sum(nil)
}

// Seal encrypts plaintext bound to aad.
func (k *Keyring) Seal(plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

// Open decrypts what Seal returned for the same aad.
func (k *Keyring) Open(sealed []byte, aad string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SignState returns "nonce.expiry.mac", binding nonce to tenant until exp.
// The tenant is not in the state (it goes through the browser and Slack);
// it is covered by the MAC and recorded with the nonce server-side.
func (k *Keyring) SignState(nonce, tenant string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return nonce + "." + e + "." + base64.RawURLEncoding.EncodeToString(k.stateMAC(nonce, tenant, e))
}

// ParseState splits a state and checks its expiry; VerifyState checks the
// MAC once the tenant recorded for the nonce is known.
func ParseState(state string, now time.Time) (nonce, exp string, err error) {
	parts := strings.Split(state, ".")
	if len(state) > 256 || len(parts) != 3 || parts[0] == "" {
		return "", "", ErrState
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !now.Before(time.Unix(sec, 0)) {
		return "", "", ErrState
	}
	return parts[0], parts[1], nil
}

// VerifyState checks state's MAC for tenant.
func (k *Keyring) VerifyState(state, tenant string) error {
	parts := strings.Split(state, ".")
	if len(parts) != 3 {
		return ErrState
	}
	mac, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, k.stateMAC(parts[0], tenant, parts[1])) {
		return ErrState
	}
	return nil
}

func (k *Keyring) stateMAC(nonce, tenant, exp string) []byte {
	m := hmac.New(sha256.New, k.stateKey)
	m.Write([]byte(nonce + "\x00" + tenant + "\x00" + exp))
	return m.Sum(nil)
}

// BrowserBinding is the value of the install cookie for nonce: the
// browser that opened the install link holds it, and the callback is
// accepted only with it (ADR 0069 §3). Keyed with the state key, so
// knowing a state (it travels through Slack and the URL bar) does not give
// the cookie.
func (k *Keyring) BrowserBinding(nonce string) string {
	m := hmac.New(sha256.New, k.stateKey)
	m.Write([]byte("slack-install-browser\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Nonce returns a random URL-safe nonce.
func Nonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
