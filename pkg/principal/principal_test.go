package principal

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/logging"
)

func newSigner(t testing.TB, kid string) *Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := NewSigner(kid, priv, time.Minute)
	require.NoError(t, err)
	return s
}

func samplePrincipal() *authv1.Principal {
	return &authv1.Principal{TenantId: "t_1", KeyId: "AbCdEf012345", Subject: "a@b", Roles: []string{"admin"}, Scopes: []string{"chat:write"}}
}

func TestSignVerify(t *testing.T) {
	s := newSigner(t, "k1")
	other := newSigner(t, "k1") // same kid, different key: a forgery
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	now := time.Now()

	good, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	forged, err := other.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	wrongKid := newSigner(t, "k2")
	unknown, err := wrongKid.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)

	expiredSigner := newSigner(t, "k1")
	expiredSigner.key = s.key
	expiredSigner.now = func() time.Time { return now.Add(-10 * time.Minute) }
	expired, err := expiredSigner.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)

	parts := strings.Split(good, ".")
	tamperedPayload := strings.Join([]string{parts[0], parts[1], b64.EncodeToString([]byte("junk")), parts[3]}, ".")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", good, nil},
		{"empty", "", ErrMissing},
		{"forged signature", forged, ErrInvalid},
		{"unknown kid", unknown, ErrUnknownKey},
		{"expired", expired, ErrExpired},
		{"tampered payload", tamperedPayload, ErrInvalid},
		{"garbage", "not-a-token", ErrInvalid},
		{"wrong version", "v3" + good[2:], ErrInvalid},
		{"v2 without an audience", "v2" + good[2:], ErrInvalid},
		{"truncated signature", good[:len(good)-4], ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(tt.token)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, "t_1", p.GetTenantId())
				require.LessOrEqual(t, p.GetExpiresAt()-p.GetIssuedAt(), int64(60))
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestSignCapsExpiryAtKeyExpiry(t *testing.T) {
	s := newSigner(t, "k1")
	keyExpiry := time.Now().Add(10 * time.Second)
	tok, err := s.Sign(samplePrincipal(), keyExpiry)
	require.NoError(t, err)
	p, err := NewVerifier(StaticKeys{"k1": s.PublicKey()}).Verify(tok)
	require.NoError(t, err)
	require.Equal(t, keyExpiry.Unix(), p.GetExpiresAt())
}

func TestInterceptor(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	tok, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	icpt := UnaryServerInterceptor(v, ExemptMethods("/rampart.auth.v1.AuthService/VerifyKey"))
	handler := func(ctx context.Context, _ any) (any, error) {
		p, ok := FromContext(ctx)
		if !ok {
			return "anonymous", nil
		}
		return p.GetTenantId(), nil
	}
	call := func(method, token string) (any, error) {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MetadataKey, token))
		}
		return icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, handler)
	}
	tests := []struct {
		name     string
		method   string
		token    string
		want     any
		wantCode codes.Code
	}{
		{"scoped with assertion", "/rampart.auth.v1.KeyService/ListKeys", tok, "t_1", codes.OK},
		{"scoped without assertion", "/rampart.auth.v1.KeyService/ListKeys", "", nil, codes.Unauthenticated},
		{"scoped with junk", "/rampart.auth.v1.KeyService/ListKeys", "junk", nil, codes.Unauthenticated},
		{"exempt without assertion", "/rampart.auth.v1.AuthService/VerifyKey", "", "anonymous", codes.OK},
		{"health always exempt", "/grpc.health.v1.Health/Check", "", "anonymous", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(tt.method, tt.token)
			require.Equal(t, tt.wantCode, status.Code(err))
			if tt.wantCode == codes.OK {
				require.Equal(t, tt.want, got)
			}
		})
	}
}

// TestInterceptorContext: the verified principal and its tenant (for the
// log lines) come from one context node (ADR 0061) that passes every other
// key, the request id and cancellation through to the call's context.
func TestInterceptorContext(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	tok, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	type otherKey struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "x"))
	ctx := logging.WithTenantID(logging.WithRequestID(parent, "req-1"), "spoofed")
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(MetadataKey, tok))
	var got context.Context
	_, err = UnaryServerInterceptor(v, ExemptMethods())(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/a.B/C"},
		func(ctx context.Context, _ any) (any, error) { got = ctx; return nil, nil })
	require.NoError(t, err)
	p, ok := FromContext(got)
	require.True(t, ok)
	require.Equal(t, "t_1", p.GetTenantId())
	require.Equal(t, "t_1", logging.TenantID(got), "the verified tenant, not the context's")
	require.Equal(t, "req-1", logging.RequestID(got))
	require.Equal(t, "x", got.Value(otherKey{}))
	cancel()
	<-got.Done()
	require.ErrorIs(t, got.Err(), context.Canceled)
}

func TestHasScope(t *testing.T) {
	require.True(t, HasScope(&authv1.Principal{Scopes: []string{"chat:write"}}, "chat:write"))
	require.True(t, HasScope(&authv1.Principal{Scopes: []string{"admin"}}, "secrets:read"))
	require.False(t, HasScope(&authv1.Principal{Scopes: []string{"chat:write"}}, "secrets:read"))
}

func FuzzVerify(f *testing.F) {
	s := newSigner(f, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	tok, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(f, err)
	f.Add(tok)
	f.Add("v1.k1..")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := v.Verify(in)
		if err == nil {
			// Only a genuinely signed token may verify.
			require.NotEmpty(t, p.GetTenantId())
		}
	})
}

// BenchmarkVerify: a full verification (signature and decoding) and one
// the verifier's cache answers.
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []VerifierOption
	}{
		{"uncached", nil},
		{"cached", []VerifierOption{WithCache(1000)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSigner(b, "k1")
			v := NewVerifier(StaticKeys{"k1": s.PublicKey()}, bc.opts...)
			tok, err := s.Sign(samplePrincipal(), time.Time{})
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestVerifierCache(t *testing.T) {
	s := newSigner(t, "k1")
	now := time.Now()
	keys := &countingKeys{StaticKeys: StaticKeys{"k1": s.PublicKey()}}
	v := NewVerifier(keys, WithCache(2))
	v.now = func() time.Time { return now }

	tok, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	for range 3 {
		p, err := v.Verify(tok)
		require.NoError(t, err)
		require.Equal(t, "t_1", p.GetTenantId())
	}
	require.Equal(t, 1, keys.lookups, "a cached assertion is not verified again")

	// A tampered token is a different cache key and fails verification.
	// (Change a character well inside the signature: the last base64 digit
	// carries padding bits a decoder may ignore.)
	b := []byte(tok)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	_, err = v.Verify(string(b))
	require.ErrorIs(t, err, ErrInvalid)

	// Past its expiry (plus skew) the cached entry no longer answers.
	v.now = func() time.Time { return now.Add(2 * time.Minute) }
	_, err = v.Verify(tok)
	require.ErrorIs(t, err, ErrExpired)

	// The cache stays bounded.
	v.now = func() time.Time { return now }
	for range 5 {
		other, err := s.Sign(&authv1.Principal{TenantId: "t_" + time.Now().String()}, time.Time{})
		require.NoError(t, err)
		_, err = v.Verify(other)
		require.NoError(t, err)
		require.LessOrEqual(t, v.cache.len(), 2)
	}
}

type countingKeys struct {
	StaticKeys
	lookups int
}

func (c *countingKeys) PublicKey(kid string) (ed25519.PublicKey, bool) {
	c.lookups++
	return c.StaticKeys.PublicKey(kid)
}

// TestVerifierCacheConcurrent: concurrent calls over more assertions than
// the cache holds (so it is evicted and cleared while read) each get their
// own principal.
func TestVerifierCacheConcurrent(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()}, WithCache(2))
	toks := make([]string, 5)
	for i := range toks {
		var err error
		toks[i], err = s.Sign(&authv1.Principal{TenantId: fmt.Sprint("t_", i)}, time.Time{})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				k := (g + i) % len(toks)
				p, err := v.Verify(toks[k])
				assert.NoError(t, err)
				assert.Equal(t, fmt.Sprint("t_", k), p.GetTenantId())
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, v.cache.len(), 2)
}

func TestVerifyRejectsNonCanonicalEncoding(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	tok, err := s.Sign(samplePrincipal(), time.Time{})
	require.NoError(t, err)
	// A 64-byte signature is 86 base64 digits; the last one carries 4 data
	// bits and 2 padding bits. Setting a padding bit keeps the bytes but
	// changes the string: it must not verify.
	last := tok[len(tok)-1]
	i := strings.IndexByte(alphabet64, last)
	require.GreaterOrEqual(t, i, 0)
	alt := tok[:len(tok)-1] + string(alphabet64[i^1])
	_, err = v.Verify(alt)
	require.ErrorIs(t, err, ErrInvalid)
}

const alphabet64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestRatePoolsStayV1: the rate pools (ADR 0076) ride in the v1 payload.
// An assertion with them round-trips; one an auth without them signed
// (no fields 13 and 14) still verifies and reads as "no pool".
func TestRatePoolsStayV1(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	pooled := samplePrincipal()
	pooled.RequestsPool = &authv1.RatePool{KeyId: "FiRsTlImItEd", PerMinute: 60}
	pooled.TokensPool = &authv1.RatePool{KeyId: "FiRsTlImItEd", PerMinute: 1000}
	tok, err := s.Sign(pooled, time.Time{})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok, "v1.k1."))
	got, err := v.Verify(tok)
	require.NoError(t, err)
	require.True(t, proto.Equal(pooled.GetRequestsPool(), got.GetRequestsPool()))
	require.True(t, proto.Equal(pooled.GetTokensPool(), got.GetTokensPool()))

	// The same assertion as an older auth wrote it.
	payload, err := b64.DecodeString(strings.Split(tok, ".")[2])
	require.NoError(t, err)
	var old []byte
	for len(payload) > 0 {
		num, typ, n := protowire.ConsumeTag(payload)
		require.Positive(t, n)
		m := protowire.ConsumeFieldValue(num, typ, payload[n:])
		require.Positive(t, m)
		if num != 13 && num != 14 {
			old = append(old, payload[:n+m]...)
		}
		payload = payload[n+m:]
	}
	signed := "v1.k1." + b64.EncodeToString(old)
	got, err = v.Verify(signed + "." + b64.EncodeToString(ed25519.Sign(s.key, []byte(signed))))
	require.NoError(t, err)
	require.Nil(t, got.GetRequestsPool())
	require.Nil(t, got.GetTokensPool())
	require.Equal(t, pooled.GetKeyId(), got.GetKeyId())
}

// TestRatePools: the chain when set (bounded: outermost and the innermost
// MaxRatePools-1), else the legacy single pool; the key's own bucket and
// empty entries are never yielded.
func TestRatePools(t *testing.T) {
	rp := func(id string, per int64) *authv1.RatePool { return &authv1.RatePool{KeyId: id, PerMinute: per} }
	ids := func(chain []*authv1.RatePool, legacy *authv1.RatePool) []string {
		var out []string
		for p := range RatePools(chain, legacy, "SeLf") {
			out = append(out, p.GetKeyId())
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		chain  []*authv1.RatePool
		legacy *authv1.RatePool
		want   []string
	}{
		{"none", nil, nil, nil},
		{"legacy only (an auth before ADR 0086)", nil, rp("A", 60), []string{"A"}},
		{"legacy is the key itself", nil, rp("SeLf", 60), nil},
		{"chain wins over legacy", []*authv1.RatePool{rp("A", 60), rp("B", 10)}, rp("A", 60), []string{"A", "B"}},
		{"empty entries skipped", []*authv1.RatePool{rp("A", 60), rp("", 10), rp("C", 0), rp("SeLf", 5)}, nil, []string{"A"}},
		{"at most MaxRatePools: outermost and innermost", []*authv1.RatePool{rp("A", 60), rp("B", 50), rp("C", 40), rp("D", 30), rp("E", 20), rp("F", 10)}, nil,
			[]string{"A", "D", "E", "F"}},
	} {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, ids(tt.chain, tt.legacy)) })
	}
}

// TestNestedRatePoolsStayV1: an assertion with the nested pools (ADR 0086)
// as an auth before them signed it (no fields 15 and 16) reads as the one
// outer pool: less, never more.
func TestNestedRatePoolsStayV1(t *testing.T) {
	s := newSigner(t, "k1")
	v := NewVerifier(StaticKeys{"k1": s.PublicKey()})
	p := samplePrincipal()
	p.RequestsPool = &authv1.RatePool{KeyId: "FiRsTlImItEd", PerMinute: 60}
	p.RequestsPools = []*authv1.RatePool{p.RequestsPool, {KeyId: "NaRrOwErKeY0", PerMinute: 10}}
	tok, err := s.Sign(p, time.Time{})
	require.NoError(t, err)
	got, err := v.Verify(tok)
	require.NoError(t, err)
	require.Len(t, got.GetRequestsPools(), 2)

	payload, err := b64.DecodeString(strings.Split(tok, ".")[2])
	require.NoError(t, err)
	var old []byte
	for len(payload) > 0 {
		num, typ, n := protowire.ConsumeTag(payload)
		require.Positive(t, n)
		m := protowire.ConsumeFieldValue(num, typ, payload[n:])
		require.Positive(t, m)
		if num != 15 && num != 16 {
			old = append(old, payload[:n+m]...)
		}
		payload = payload[n+m:]
	}
	signed := "v1.k1." + b64.EncodeToString(old)
	got, err = v.Verify(signed + "." + b64.EncodeToString(ed25519.Sign(s.key, []byte(signed))))
	require.NoError(t, err)
	var pools []string
	for rp := range RatePools(got.GetRequestsPools(), got.GetRequestsPool(), got.GetKeyId()) {
		pools = append(pools, rp.GetKeyId())
	}
	require.Equal(t, []string{"FiRsTlImItEd"}, pools)
}
