package listen

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// fdPrefix marks an address that names an inherited descriptor.
const fdPrefix = "fd:"

// TCP returns a listener for addr: "host:port" is bound as usual, "fd:N"
// adopts the already-listening socket inherited as descriptor N (N ≥ 3; 0–2
// are stdio).
func TCP(addr string) (net.Listener, error) {
	fd, ok, err := ParseFD(addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return net.Listen("tcp", addr)
	}
	f := os.NewFile(uintptr(fd), "inherited-"+addr)
	if f == nil {
		return nil, fmt.Errorf("listen %s: no such descriptor", addr)
	}
	// FileListener dups the descriptor, so ours is closed either way.
	defer func() { _ = f.Close() }()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listen %s: inherited descriptor is not a listening socket: %w", addr, err)
	}
	return l, nil
}

// ParseFD reports whether addr names an inherited descriptor and which.
// An "fd:" address with a bad number is an error, not a host name.
func ParseFD(addr string) (fd int, ok bool, err error) {
	rest, found := strings.CutPrefix(addr, fdPrefix)
	if !found {
		return 0, false, nil
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 3 {
		return 0, false, fmt.Errorf("%q: an inherited descriptor is fd:N with N ≥ 3", addr)
	}
	return n, true, nil
}

// FD is the address that names inherited descriptor n, for a supervisor to
// put in its child's environment.
func FD(n int) string { return fdPrefix + strconv.Itoa(n) }
