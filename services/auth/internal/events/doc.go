// Package events wakes stream watchers when auth appends to its event log.
// The log itself is in the store (so cursors survive restarts and replicas
// share it); the Hub is only the in-process doorbell that makes a revocation
// reach a watching edge in milliseconds rather than at the next poll.
package events
