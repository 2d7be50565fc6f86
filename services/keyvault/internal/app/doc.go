// Package app wires keyvault together: configuration, mTLS, store, KMS,
// audit, policy, gRPC services, background loops (rotation scheduler with a
// database lease, deletion purge, access-time flush) and shutdown.
package app
