package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

// recorder is an AuthService that answers RecoverOwner and records who
// called it, over real mTLS.
type recorder struct {
	authv1.UnimplementedAuthServiceServer
	peer string
	req  *authv1.RecoverOwnerRequest
}

func (r *recorder) RecoverOwner(ctx context.Context, req *authv1.RecoverOwnerRequest) (*authv1.RecoverOwnerResponse, error) {
	id, err := mtls.PeerID(ctx)
	if err != nil {
		return nil, err
	}
	r.peer, r.req = id.String(), req
	return &authv1.RecoverOwnerResponse{TenantId: req.GetTenantId(), Subject: "owner@acme", KeyId: "AbCdEfGhIjKl", ApiKey: "rk_AbCdEfGhIjKl_secret"}, nil
}

func TestRecoverOwnerSpeaksMTLSAsTheCLI(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "auth", "rampart-cli")
	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rec := &recorder{}
	g := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(src)))
	authv1.RegisterAuthServiceServer(g, rec)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	var out, errOut bytes.Buffer
	require.NoError(t, Run(t.Context(), []string{"tenant", "recover-owner", "--tenant", "t_1", "--subject", "new@acme",
		"--cert-dir", dir, "--auth-addr", lis.Addr().String()}, &out, &errOut))
	require.Equal(t, "spiffe://rampart.local/svc/rampart-cli", rec.peer)
	require.Equal(t, "t_1", rec.req.GetTenantId())
	require.Equal(t, "new@acme", rec.req.GetSubject())
	var got map[string]string
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Equal(t, "rk_AbCdEfGhIjKl_secret", got["api_key"])
	require.Contains(t, errOut.String(), "shown once")

	err = Run(t.Context(), []string{"tenant", "recover-owner", "--cert-dir", dir, "--auth-addr", lis.Addr().String()}, &out, &errOut)
	require.ErrorContains(t, err, "--tenant")
}
