package devstack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// bindPreferred binds preferred on loopback if it is free, else a port the
// kernel chooses. The supervisor keeps the socket and hands it to the child
// (pkg/listen "fd:N"), so no other process can take the port in between:
// two stacks, or a stack and a test suite, can start side by side.
func bindPreferred(preferred string) (*net.TCPListener, error) {
	if l, err := bindTCP(preferred); err == nil {
		return l, nil
	}
	l, err := bindTCP("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bind a loopback port: %w", err)
	}
	return l, nil
}

func bindTCP(addr string) (*net.TCPListener, error) {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	return net.ListenTCP("tcp", a)
}

// socketFile returns a duplicate of l's descriptor for a child's ExtraFiles.
func socketFile(l *net.TCPListener) (*os.File, error) {
	f, err := l.File()
	if err != nil {
		return nil, fmt.Errorf("pass %s to the child: %w", l.Addr(), err)
	}
	return f, nil
}

// httpAddrError explains a failed bind of the edge's public address: in
// use, it is most often another `rampart dev` (make run and make run-ha
// both want 127.0.0.1:8080), and the operator chose the address, so it is
// not moved silently.
func httpAddrError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("edge HTTP address %s is in use (another `rampart dev` still running?): stop that, "+
			"or pick another address with --http-addr or RAMPART_HTTP_ADDR (127.0.0.1:0 for any free port)", addr)
	}
	return fmt.Errorf("edge HTTP address %s: %w", addr, err)
}
