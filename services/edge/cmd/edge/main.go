// Command edge is Rampart's public HTTP gateway: REST via grpc-gateway, the
// OpenAI-compatible API and the Slack endpoints, with API key
// authentication, rate limiting and mTLS to every backend.
//
//	edge [flags]          serve (see -h for every flag and environment variable)
//	edge healthcheck      GET the admin /readyz; exit 0 when ready, 1 otherwise
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/pkg/serve"
	"github.com/rampart-platform/rampart/services/edge/internal/app"
)

func main() {
	// Small live heap, ~15 KB allocated per request (ADR 0038).
	serve.SetDefaultGCPercent(serve.RequestPathGCPercent)
	backend.Main("edge", app.Run)
}
