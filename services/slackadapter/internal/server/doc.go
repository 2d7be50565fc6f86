// Package server is the slack adapter's gRPC surface: SlackAdapterService
// handlers that only translate between the proto and internal/bot, the
// embedded per-method caller allow-list and the methods exempt from the
// principal assertion. The process is assembled in internal/app.
package server
