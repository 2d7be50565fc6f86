package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	// Prefix starts every Rampart API key.
	Prefix = "rk_"
	// IDLen is the length of the public key id.
	IDLen = 12
	// SecretLen is the length of the secret: 43 base62 characters hold 256 bits.
	SecretLen = 43
	// ChecksumLen is the length of the base62 CRC32 checksum.
	ChecksumLen = 6
	// Len is the length of a whole key.
	Len = len(Prefix) + IDLen + SecretLen + ChecksumLen
	// SaltLen is the length of the per-key salt.
	SaltLen = 16
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var (
	// ErrMalformed means the string is not shaped like a Rampart key.
	ErrMalformed = errors.New("api key is malformed")
	// ErrChecksum means the key is shaped right but its checksum is wrong
	// (usually a typo or a truncated copy).
	ErrChecksum = errors.New("api key checksum does not match")
)

// Key is a parsed API key. Its String method never reveals the secret.
type Key struct {
	ID     string
	secret string
}

// Generate returns a new random key.
func Generate() (Key, error) {
	id, err := randomBase62(IDLen)
	if err != nil {
		return Key{}, err
	}
	secret, err := randomBase62(SecretLen)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: id, secret: secret}, nil
}

// Parse checks the format and checksum of s and returns the key.
func Parse(s string) (Key, error) {
	if len(s) != Len {
		return Key{}, fmt.Errorf("%w: want %d characters, got %d", ErrMalformed, Len, len(s))
	}
	if s[:len(Prefix)] != Prefix {
		return Key{}, fmt.Errorf("%w: missing %q prefix", ErrMalformed, Prefix)
	}
	body := s[len(Prefix):]
	for i := 0; i < len(body); i++ {
		if !isBase62(body[i]) {
			return Key{}, fmt.Errorf("%w: character %d is not base62", ErrMalformed, len(Prefix)+i)
		}
	}
	head := s[:Len-ChecksumLen]
	if subtle.ConstantTimeCompare([]byte(checksum(head)), []byte(s[Len-ChecksumLen:])) != 1 {
		return Key{}, ErrChecksum
	}
	return Key{ID: body[:IDLen], secret: body[IDLen : IDLen+SecretLen]}, nil
}

// Plaintext returns the full key as the client presents it. Call it only to
// show a new key to its owner once.
func (k Key) Plaintext() string {
	head := Prefix + k.ID + k.secret
	return head + checksum(head)
}

// DisplayPrefix is the part of the key that is safe to show and log.
func (k Key) DisplayPrefix() string { return Prefix + k.ID }

// String redacts the secret so a key cannot leak through %v.
func (k Key) String() string { return k.DisplayPrefix() + "…[redacted]" }

// GoString redacts the secret for %#v too.
func (k Key) GoString() string { return k.String() }

// Hash returns SHA-256(salt ‖ secret), the only form of the secret that is stored.
func (k Key) Hash(salt []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(k.secret))
	return h.Sum(nil)
}

// Matches reports whether the key's secret hashes to want under salt,
// comparing in constant time.
func (k Key) Matches(salt, want []byte) bool {
	return subtle.ConstantTimeCompare(k.Hash(salt), want) == 1
}

// NewSalt returns a fresh random per-key salt.
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("read random salt: %w", err)
	}
	return salt, nil
}

// ValidID reports whether id has the shape of a key id.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isBase62(id[i]) {
			return false
		}
	}
	return true
}

func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, ChecksumLen)
	for i := ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return string(out)
}

// randomBase62 draws n uniform base62 characters by rejection sampling, so
// no character is more likely than another.
func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: keeps the draw uniform
				continue
			}
			out = append(out, alphabet[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
