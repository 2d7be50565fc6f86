// Package app assembles the inference service from its configuration:
// providers from the model registry, the usage store and recorder, quotas,
// the tool policy, the principal verifier and the gRPC server (pkg/serve).
// cmd/inference and the internal/servertest helper both build through it, so
// tests run exactly what production runs.
package app
