// Package retry holds the few shapes Rampart's retry loops share, on top
// of github.com/cenkalti/backoff/v5 (ADR 0048): the two jittered
// exponential schedules the loops use (FullJitter, EqualJitter) and
// Reconnect, the loop that keeps a long-lived stream subscribed. Calls
// that retry a bounded number of times use backoff.Retry directly;
// idempotent gRPC calls between services are retried by gRPC itself (the
// retry policy in pkg/backend's service config), not here.
package retry
