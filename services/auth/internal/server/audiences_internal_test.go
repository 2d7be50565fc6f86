package server

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// TestAudiencesAllowed: VerifyKey's audience check (the permission
// table's Audiences, looked up rather than scanned per call) admits what
// the table gives the caller and refuses the rest, unknown SPIFFE ids
// included.
func TestAudiencesAllowed(t *testing.T) {
	edge := permissions.Default().Audiences(permissions.Edge)
	for _, tt := range []struct {
		name, caller string
		audiences    []string
		want         codes.Code
	}{
		{"edge, all its audiences", pki.ServiceID(permissions.Edge), edge, codes.OK},
		{"keyvault for auth", pki.ServiceID(permissions.Keyvault), []string{permissions.Auth}, codes.OK},
		{"keyvault for inference", pki.ServiceID(permissions.Keyvault), []string{permissions.Auth, permissions.Inference}, codes.PermissionDenied},
		{"inference for auth", pki.ServiceID(permissions.Inference), []string{permissions.Auth}, codes.PermissionDenied},
		{"a client id", pki.ClientID(permissions.Edge), []string{permissions.Auth}, codes.PermissionDenied},
		{"no peer id", "", []string{permissions.Auth}, codes.PermissionDenied},
		{"an unknown service", pki.ServiceID("billing"), []string{permissions.Auth}, codes.PermissionDenied},
		{"no audience", pki.ServiceID(permissions.Edge), nil, codes.InvalidArgument},
		{"too many", pki.ServiceID(permissions.Edge), []string{"auth", "auth", "auth", "auth", "auth", "auth", "auth", "auth", "auth"}, codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, grpcerr.Code(audiencesAllowed(tt.caller, tt.audiences)))
		})
	}
}

// BenchmarkAudiencesAllowed is the edge's VerifyKey audience check.
func BenchmarkAudiencesAllowed(b *testing.B) {
	caller, audiences := pki.ServiceID(permissions.Edge), permissions.Default().Audiences(permissions.Edge)
	b.ReportAllocs()
	for b.Loop() {
		if err := audiencesAllowed(caller, audiences); err != nil {
			b.Fatal(err)
		}
	}
}
