// Package events wakes stream watchers when auth appends to its event log.
// The log itself is in the store (so cursors survive restarts and replicas
// share it); the Hub is the in-process doorbell that makes a revocation
// reach a watching edge in milliseconds. The Feed is the one process-wide
// follower of the log that rings the Hub for events appended elsewhere:
// PostgreSQL LISTEN/NOTIFY (plus a safety poll under a second), or one
// prepared poll of the log's head every 250 ms on SQLite — never one query
// per open stream (ADR 0039).
package events
