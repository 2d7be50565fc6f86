package grpctest_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestFixture: the PKI holds the named services' certificates; As carries
// an assertion the fixture's Keys verify, with the extra metadata beside
// it; a signer of the same kid but another key is refused.
func TestFixture(t *testing.T) {
	f := grpctest.NewFixture(t, "edge", "inference")
	for _, name := range []string{"ca.crt", "edge.crt", "edge.key", "inference.crt"} {
		require.FileExists(t, filepath.Join(f.Dir, name))
	}
	v := principal.NewVerifier(f.Keys())

	md, ok := metadata.FromOutgoingContext(f.As(t, &authv1.Principal{TenantId: "t1"}, "x-request-id", "r1"))
	require.True(t, ok)
	require.Equal(t, []string{"r1"}, md.Get("x-request-id"))
	tok := md.Get(principal.MetadataKey)
	require.Len(t, tok, 1)
	p, err := v.Verify(tok[0])
	require.NoError(t, err)
	require.Equal(t, "t1", p.GetTenantId())

	forged, err := grpctest.NewSigner(t, f.Signer.KID()).Sign(&authv1.Principal{TenantId: "t1"}, time.Time{})
	require.NoError(t, err)
	_, err = v.Verify(forged)
	require.Error(t, err, "same kid, another key")
}
