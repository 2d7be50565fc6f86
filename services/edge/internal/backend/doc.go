// Package backend dials the edge's backends through pkg/backend's Dialer
// (mTLS with each server's expected SPIFFE ID, request id, tracing) and
// checks auth's reachability for readiness. Connections are lazy: nothing
// is dialled until the first call, so an optional backend that is down
// only makes its own routes fail (503).
package backend
