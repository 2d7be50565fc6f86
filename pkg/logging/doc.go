// Package logging builds Rampart's JSON slog loggers: every line carries the
// request and tenant ids from the context, and secrets (API keys, bearer
// tokens, Slack tokens, passwords, attributes with sensitive names) are
// redacted from the message and from every attribute value before they
// reach the output. Lines are exactly slog.NewJSONHandler's; the common
// records (string, integer, bool, duration and time attributes) are
// encoded by a faster encoder of the same format (json.go, ADR 0054).
package logging
