package principal

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
)

// MetadataKey is the gRPC metadata key carrying the assertion.
const MetadataKey = "x-rampart-principal"

// MaxTTL bounds how long any assertion may live.
const MaxTTL = 5 * time.Minute

// version is the first format (ADR 0002): "v1.<kid>.<payload>.<signature>",
// the audience (if any) inside the payload. versionAud is the
// audience-bound one (ADR 0098): "v2.<kid>.<audience>.<payload>.<signature>",
// the audience outside the payload and always present. Verifiers accept both.
const (
	version    = "v1"
	versionAud = "v2"
)

var (
	// ErrMissing means the call carried no assertion.
	ErrMissing = errors.New("principal assertion missing")
	// ErrInvalid means the assertion is malformed or its signature is wrong.
	ErrInvalid = errors.New("principal assertion invalid")
	// ErrExpired means the assertion is past its expiry.
	ErrExpired = errors.New("principal assertion expired")
	// ErrUnknownKey means no verification key has the assertion's kid.
	ErrUnknownKey = errors.New("principal assertion signed by an unknown key")
	// ErrAudience means the assertion is for another service, or names
	// none, and the verifier checks its audience (ADR 0083).
	ErrAudience = errors.New("principal assertion is for another service")
)

// Strict: a token has exactly one encoding (no ignored padding bits), so
// a cache keyed by the token string cannot hold two forms of one assertion.
var b64 = base64.RawURLEncoding.Strict()

// Signer mints assertions. Only auth holds one.
type Signer struct {
	kid  string
	key  ed25519.PrivateKey
	now  func() time.Time
	ttl  time.Duration
	head string
}

// NewSigner returns a signer for kid. ttl is capped at MaxTTL.
func NewSigner(kid string, key ed25519.PrivateKey, ttl time.Duration) (*Signer, error) {
	if kid == "" || strings.ContainsAny(kid, ". \t\r\n") {
		return nil, fmt.Errorf("signing key id %q must be non-empty and contain no dot or space", kid)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("signing key is not an Ed25519 private key")
	}
	if ttl <= 0 || ttl > MaxTTL {
		ttl = MaxTTL
	}
	return &Signer{kid: kid, key: key, now: time.Now, ttl: ttl, head: version + "." + kid + "."}, nil
}

// KID returns the signer's key id.
func (s *Signer) KID() string { return s.kid }

// PublicKey returns the verification key.
func (s *Signer) PublicKey() ed25519.PublicKey {
	pub, _ := s.key.Public().(ed25519.PublicKey) // always ed25519: checked in NewSigner
	return pub
}

// Sign stamps p with issue and expiry times and returns the assertion. The
// expiry never exceeds notAfter when that is non-zero (e.g. the key's own
// expiry), so an assertion cannot outlive the key it came from.
func (s *Signer) Sign(p *authv1.Principal, notAfter time.Time) (string, error) {
	return s.sign(proto.CloneOf(p), notAfter)
}

// SignFor is Sign for the one service audience (ADR 0083): the assertion
// names it, and only that service's verifier accepts it. It is in the
// audience-bound format (versionAud, ADR 0098).
func (s *Signer) SignFor(p *authv1.Principal, audience string, notAfter time.Time) (string, error) {
	toks, err := s.SignEach(p, []string{audience}, notAfter)
	if err != nil {
		return "", err
	}
	return toks[0], nil
}

// SignEach signs p once for each of audiences (ADR 0083) in the
// audience-bound format (ADR 0098): one payload, stamped once, and one
// signature per audience over "v2.<kid>.<audience>.<payload>". The
// assertions differ only in their audience and signature, so a call that
// carries several of them sends the payload once and, for the others, the
// signature alone (Forwardings). The payload leaves out what the format
// carries or implies: the audience, and the budget key when it is the key
// itself (Verify restores both).
func (s *Signer) SignEach(p *authv1.Principal, audiences []string, notAfter time.Time) ([]string, error) {
	for _, aud := range audiences {
		if !validAudience(aud) {
			return nil, fmt.Errorf("audience %q must be a non-empty service name", aud)
		}
	}
	p = proto.CloneOf(p)
	p.Audience = ""
	if p.GetBudgetKeyId() == p.GetKeyId() {
		p.BudgetKeyId = ""
	}
	payload, err := s.stamp(p, notAfter)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(audiences))
	for _, aud := range audiences {
		signed := versionAud + "." + s.kid + "." + aud + "." + payload
		out = append(out, signed+"."+b64.EncodeToString(ed25519.Sign(s.key, []byte(signed))))
	}
	return out, nil
}

// validAudience: a service name, which the assertion and a delegation
// ("<audience>=<signature>") carry as it is.
func validAudience(aud string) bool {
	if aud == "" {
		return false
	}
	for i := range len(aud) {
		if c := aud[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// sign stamps p, which the caller owns, and signs it in the first format
// (ADR 0002: the audience, if any, inside the payload).
func (s *Signer) sign(p *authv1.Principal, notAfter time.Time) (string, error) {
	payload, err := s.stamp(p, notAfter)
	if err != nil {
		return "", err
	}
	signed := s.head + payload
	sig := ed25519.Sign(s.key, []byte(signed))
	return signed + "." + b64.EncodeToString(sig), nil
}

// stamp sets p's issue and expiry times and returns its encoded payload.
func (s *Signer) stamp(p *authv1.Principal, notAfter time.Time) (string, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	p.IssuedAt = now.Unix()
	p.ExpiresAt = exp.Unix()
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("marshal principal: %w", err)
	}
	return b64.EncodeToString(payload), nil
}

// Keys looks up verification keys by kid.
type Keys interface {
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// StaticKeys is a fixed key set (tests, or a single-key deployment).
type StaticKeys map[string]ed25519.PublicKey

// PublicKey implements Keys.
func (k StaticKeys) PublicKey(kid string) (ed25519.PublicKey, bool) {
	pk, ok := k[kid]
	return pk, ok
}

// Verifier checks assertions against a key set.
type Verifier struct {
	keys     Keys
	now      func() time.Time
	skew     time.Duration
	cache    *verifiedCache
	audience string // "" checks none (test harnesses); every service sets its name
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithCache remembers up to maxEntries verified assertions until they
// expire. The edge reuses one assertion for many calls, so a busy key then
// costs one Ed25519 verification (≈55 µs here) per assertion instead of per
// call. The cache key is the whole token, signature included: any other byte
// string is verified from scratch. Cached principals are shared: callers must
// treat them as read-only (as they must any verified principal).
func WithCache(maxEntries int) VerifierOption {
	return func(v *Verifier) {
		if maxEntries > 0 {
			v.cache = &verifiedCache{max: maxEntries}
		}
	}
}

// WithAudience makes the verifier accept only assertions for audience (the
// service's name in the mesh): one for another service, or without an
// audience, is ErrAudience (ADR 0083). Every service's verifier has one
// (pkg/backend sets it from the service's name); without it any audience
// passes, which only test harnesses rely on.
func WithAudience(audience string) VerifierOption {
	return func(v *Verifier) { v.audience = audience }
}

// NewVerifier returns a verifier over keys.
func NewVerifier(keys Keys, opts ...VerifierOption) *Verifier {
	v := &Verifier{keys: keys, now: time.Now, skew: 5 * time.Second}
	for _, o := range opts {
		o(v)
	}
	return v
}

// Verify parses and checks an assertion and returns its principal.
func (v *Verifier) Verify(token string) (*authv1.Principal, error) {
	if v.cache == nil {
		return v.verify(token)
	}
	now := v.now()
	if p, ok := v.cache.get(token, now); ok {
		return p, nil
	}
	p, err := v.verify(token)
	if err != nil {
		return nil, err
	}
	v.cache.put(token, p, time.Unix(p.GetExpiresAt(), 0).Add(v.skew), now)
	return p, nil
}

func (v *Verifier) verify(token string) (*authv1.Principal, error) {
	if token == "" {
		return nil, ErrMissing
	}
	lastDot := strings.LastIndexByte(token, '.')
	if lastDot < 0 {
		return nil, ErrInvalid
	}
	signed, sigPart := token[:lastDot], token[lastDot+1:]
	parts := strings.SplitN(signed, ".", 3)
	if len(parts) != 3 || parts[1] == "" {
		return nil, ErrInvalid
	}
	payloadPart, audience := parts[2], ""
	switch parts[0] {
	case version:
	case versionAud:
		var ok bool
		audience, payloadPart, ok = strings.Cut(payloadPart, ".")
		if !ok || !validAudience(audience) {
			return nil, ErrInvalid
		}
	default:
		return nil, ErrInvalid
	}
	pub, ok := v.keys.PublicKey(parts[1])
	if !ok {
		return nil, ErrUnknownKey
	}
	sig, err := b64.DecodeString(sigPart)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, ErrInvalid
	}
	if !ed25519.Verify(pub, []byte(signed), sig) {
		return nil, ErrInvalid
	}
	payload, err := b64.DecodeString(payloadPart)
	if err != nil {
		return nil, ErrInvalid
	}
	p := &authv1.Principal{}
	if err := proto.Unmarshal(payload, p); err != nil {
		return nil, ErrInvalid
	}
	if parts[0] == versionAud {
		// The signed audience is the one outside the payload; one inside
		// too is not auth's (SignEach never writes it): refused rather
		// than choosing between the two.
		if p.GetAudience() != "" {
			return nil, ErrInvalid
		}
		p.Audience = audience
		if p.GetBudgetKeyId() == "" {
			p.BudgetKeyId = p.GetKeyId()
		}
	}
	now := v.now()
	if p.GetTenantId() == "" || p.GetExpiresAt() == 0 {
		return nil, ErrInvalid
	}
	if p.GetExpiresAt()-p.GetIssuedAt() > int64((MaxTTL+v.skew)/time.Second) {
		return nil, fmt.Errorf("%w: lifetime exceeds %s", ErrInvalid, MaxTTL)
	}
	if now.Add(-v.skew).Unix() >= p.GetExpiresAt() {
		return nil, ErrExpired
	}
	if p.GetIssuedAt() > now.Add(v.skew).Unix() {
		return nil, fmt.Errorf("%w: issued in the future", ErrInvalid)
	}
	// After the signature: the audience is auth's word only once verified.
	// The cache holds only what passed, so a cached hit needs no check.
	if v.audience != "" && p.GetAudience() != v.audience {
		return nil, ErrAudience
	}
	return p, nil
}
