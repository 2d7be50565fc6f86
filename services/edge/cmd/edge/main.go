// Command edge is Rampart's public HTTP gateway: REST via grpc-gateway, the
// OpenAI-compatible API and the Slack endpoints, with API key
// authentication, rate limiting and mTLS to every backend.
//
//	edge [flags]          serve (see -h for every flag and environment variable)
//	edge healthcheck      GET the admin /readyz; exit 0 when ready, 1 otherwise
package main

import (
	"context"
	"os"

	pkgbackend "github.com/rampart-platform/rampart/pkg/backend"
)

func main() {
	pkgbackend.Main("edge", func(ctx context.Context, args []string) error {
		return run(ctx, args, os.Stdout, os.Stderr)
	})
}
