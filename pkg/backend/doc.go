// Package backend is the one start-up path of every Rampart gRPC service:
// typed config, redacting JSON logs, the mTLS source with hot reload, the
// principal-assertion interceptors fed by auth's signing keys, the
// per-method authz allow-list, the `healthcheck` mode for container
// health checks, and pkg/serve's lifecycle. A service's run(ctx) only
// declares its Spec, opens its stores and registers its handlers.
package backend
