package devstack

import (
	"fmt"
	"net"
)

// pickAddr returns preferred if it can be bound on loopback now, else a free
// loopback port chosen by the kernel. The tiny window between closing the
// probe and the child binding is acceptable for a dev tool.
func pickAddr(preferred string) (string, error) {
	if l, err := net.Listen("tcp", preferred); err == nil {
		addr := l.Addr().String()
		return addr, l.Close()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
