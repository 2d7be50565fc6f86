// Command edge is Rampart's public HTTP gateway: REST via grpc-gateway, the
// OpenAI-compatible API and the Slack endpoints, with API key
// authentication, rate limiting and mTLS to every backend.
//
//	edge [flags]          serve (see -h for every flag and environment variable)
//	edge healthcheck      GET the admin /readyz; exit 0 when ready, 1 otherwise
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}
