package devstack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// bindPreferred binds preferred on loopback if it is free, else a port the
// kernel chooses. The supervisor keeps the socket and hands it to the child
// (pkg/listen "fd:N"), so no other process can take the port in between:
// two stacks, or a stack and a test suite, can start side by side.
func bindPreferred(preferred string) (*net.TCPListener, error) {
	if _, port, _ := net.SplitHostPort(preferred); port != "0" {
		if l, err := bindTCP(preferred); err == nil {
			return l, nil
		}
	}
	return bindAnyPort()
}

// bindAnyPort binds a free loopback port below the kernel's ephemeral
// range when it can. A killed replica is restarted on the port it had
// (every client's address list names it), and in between the port is
// free: a port of the ephemeral range can be handed by then to any
// process's outgoing connection or ":0" listener (a test suite running
// beside the stack), which failed the restart in CI. Ports below the range
// are only ever taken by an explicit bind.
func bindAnyPort() (*net.TCPListener, error) {
	if low, ok := ephemeralLow(); ok && low > anyPortFloor+anyPortTries {
		for range anyPortTries {
			port := anyPortFloor + rand.IntN(low-anyPortFloor) //nolint:gosec // spreads stacks over ports; nothing secret depends on it
			if l, err := bindTCP(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return l, nil
			}
		}
	}
	l, err := bindTCP("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bind a loopback port: %w", err)
	}
	return l, nil
}

// anyPortFloor keeps clear of the well-known dev ports (7001–7012,
// 8080–8081, 9001–9012) and of registered service ports below it.
const anyPortFloor, anyPortTries = 20000, 64

// ephemeralLow is the first port of the kernel's ephemeral range (Linux:
// /proc/sys/net/ipv4/ip_local_port_range); false where it cannot be read.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, false
	}
	low, err := strconv.Atoi(fields[0])
	return low, err == nil
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
