// Package app is the auth service's constructor on pkg/backend: Run opens
// the store, the signing keys and the key service, registers the gRPC
// handlers, and starts the sweep, the signing-key refresh and the event
// feed as backend tasks (awaited before the store closes).
package app
