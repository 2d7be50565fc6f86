package backend

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole main function of a Rampart service command:
//
//	func main() { backend.Main("keyvault", app.Run) }
//
// run gets a context that ends on SIGINT or SIGTERM (the service then shuts
// down in order and returns) and the command-line arguments. An error is
// printed as "<name>: <error>" on stderr and the process exits 1.
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(ctx, name, run, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode runs run and turns its error into the process exit code.
func exitCode(ctx context.Context, name string, run func(context.Context, []string) error, args []string, stderr io.Writer) int {
	if err := run(ctx, args); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
