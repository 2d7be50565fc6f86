// Package server is the slack adapter's gRPC surface: SlackAdapterService
// handlers that only translate between the proto and internal/bot, and the
// service assembly (Run) on pkg/backend.
package server
