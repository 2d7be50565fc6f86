package app

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
)

// A PostgreSQL that does not answer stops the start (auth never becomes
// ready) with an error naming the setting, without the password.
func TestRunUnreachablePostgresNamesTheSetting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	certDir, _ := pkitest.NewDir(t, "auth")
	const password = "pw-auth-Q7-never-shown"
	t.Setenv("RAMPART_CERT_DIR", certDir)
	t.Setenv("RAMPART_DATA_DIR", t.TempDir())
	t.Setenv("RAMPART_AUTH_LISTEN_ADDR", "127.0.0.1:0")
	t.Setenv("RAMPART_AUTH_ADMIN_ADDR", "127.0.0.1:0")
	t.Setenv("RAMPART_AUTH_DATABASE_URL", "postgres://auth:"+password+"@"+addr+"/auth?sslmode=disable&connect_timeout=2")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err = Run(ctx, nil)
	require.Error(t, err)
	require.ErrorContains(t, err, "RAMPART_AUTH_DATABASE_URL")
	require.ErrorContains(t, err, addr)
	require.NotContains(t, err.Error(), password)
}
