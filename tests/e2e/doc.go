// Package e2e holds black-box tests of the running stack: it builds the real
// binaries, starts them the way `rampart dev` does (by running `rampart dev`
// itself in a temp dir), and talks to them only over their public HTTP API
// and over mTLS gRPC with certificates from the stack's own dev PKI. It also
// validates the deployment files (docker-compose.yml) without a Docker engine.
package e2e
