// Command edge is Rampart's public HTTP gateway: REST via grpc-gateway, the
// OpenAI-compatible API and the Slack endpoints, with API key
// authentication, rate limiting and mTLS to every backend.
//
//	edge [flags]          serve (see -h for every flag and environment variable)
//	edge healthcheck      GET the admin /readyz; exit 0 when ready, 1 otherwise
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/edge/internal/app"
)

func main() { backend.Main("edge", app.Run) }
