package listen_test

import (
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/listen"
)

func TestParseFD(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		fd      int
		ok      bool
		wantErr bool
	}{
		{addr: "127.0.0.1:7001"},
		{addr: "[::1]:0"},
		{addr: "fd:3", fd: 3, ok: true},
		{addr: "fd:12", fd: 12, ok: true},
		{addr: "fd:2", wantErr: true},
		{addr: "fd:", wantErr: true},
		{addr: "fd:x", wantErr: true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			fd, ok, err := listen.ParseFD(tc.addr)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.fd, fd)
		})
	}
}

func TestTCPBindsAddress(t *testing.T) {
	l, err := listen.TCP("127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	a, ok := l.Addr().(*net.TCPAddr)
	require.True(t, ok)
	require.NotZero(t, a.Port)
}

// TestTCPAdoptsInheritedSocket runs this test binary as a child that
// inherits a bound socket as fd 3, adopts it and accepts one connection:
// the port is the parent's, bound before the child existed.
func TestTCPAdoptsInheritedSocket(t *testing.T) {
	if os.Getenv("LISTEN_TEST_CHILD") == "1" {
		l, err := listen.TCP(listen.FD(3))
		if err != nil {
			os.Exit(2)
		}
		c, err := l.Accept()
		if err != nil {
			os.Exit(3)
		}
		_, _ = c.Write([]byte("ok"))
		_ = c.Close()
		os.Exit(0)
	}
	parent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tcp, ok := parent.(*net.TCPListener)
	require.True(t, ok)
	f, err := tcp.File()
	require.NoError(t, err)
	addr := parent.Addr().String()
	require.NoError(t, parent.Close()) // the child's copy keeps the socket open

	cmd := exec.Command(os.Args[0], "-test.run=^TestTCPAdoptsInheritedSocket$") //nolint:gosec // G702: re-runs this test binary

	cmd.Env = append(os.Environ(), "LISTEN_TEST_CHILD=1")
	cmd.ExtraFiles = []*os.File{f}
	require.NoError(t, cmd.Start())
	require.NoError(t, f.Close())

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	buf := make([]byte, 2)
	_, err = c.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "ok", string(buf))
	_ = c.Close()
	require.NoError(t, cmd.Wait())
}

func TestTCPRejectsNonSocketDescriptor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "plain")
	require.NoError(t, err)
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd())) // TCP closes what it is given
	require.NoError(t, err)
	_, err = listen.TCP(listen.FD(fd))
	require.ErrorContains(t, err, "not a listening socket")
}
