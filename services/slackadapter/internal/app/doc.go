// Package app is the slack adapter's constructor on pkg/backend: Run opens
// the store and the keyring, dials auth, keyvault and inference, builds
// the bot (internal/bot), registers the gRPC handlers of internal/server,
// starts the bot's workers and the tenant-event stream as backend tasks
// and closes the connections and the store after them. Tests start the
// same service through RunWith and its Hooks.
package app
