package grpctest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// Fixture is what a test of a double, or of code calling one, sets up
// around it: a test PKI and a principal signer standing in for auth's.
type Fixture struct {
	// Dir holds a new CA and the certificates of the fixture's services
	// (pkitest.NewDir).
	Dir string
	// Signer signs principal assertions (NewSigner, kid "test").
	Signer *principal.Signer
}

// NewFixture creates a PKI directory with the certificates of services
// (names such as "inference", "edge") and a fresh signer.
func NewFixture(t testing.TB, services ...string) *Fixture {
	t.Helper()
	dir, _ := pkitest.NewDir(t, services...)
	return &Fixture{Dir: dir, Signer: NewSigner(t, "test")}
}

// Keys returns the keys that verify the Signer's assertions, as a double's
// Options.Keys or a service's verifier take them.
func (f *Fixture) Keys() principal.StaticKeys {
	return principal.StaticKeys{f.Signer.KID(): f.Signer.PublicKey()}
}

// As returns the test's context carrying p's signed assertion as outgoing
// metadata, as a service forwards its caller's principal, with md (more
// key-value pairs, e.g. "x-request-id", "req-1") beside it.
func (f *Fixture) As(t testing.TB, p *authv1.Principal, md ...string) context.Context {
	t.Helper()
	tok, err := f.Signer.Sign(p, time.Time{})
	require.NoError(t, err)
	return metadata.AppendToOutgoingContext(t.Context(), append([]string{principal.MetadataKey, tok}, md...)...)
}

// Dial is Dial with the fixture's certificates: mTLS as the service as to
// addr, which must be the service server.
func (f *Fixture) Dial(t testing.TB, as, addr, server string) *grpc.ClientConn {
	t.Helper()
	return Dial(t, f.Dir, as, addr, server)
}

// NewSigner returns a principal signer with a fresh Ed25519 key and kid,
// minting assertions valid for principal.MaxTTL; a second signer with the
// Fixture's kid forges assertions a double must refuse.
func NewSigner(t testing.TB, kid string) *principal.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := principal.NewSigner(kid, priv, principal.MaxTTL)
	require.NoError(t, err)
	return s
}
