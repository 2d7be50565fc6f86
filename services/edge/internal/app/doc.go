// Package app builds the edge on pkg/backend's lifecycle, like every
// backend: Run is the whole command (backend.RunHTTP: configuration, log,
// healthcheck mode, mTLS and tracing for the calls to the backends), and
// New registers the edge's parts with it: the public and admin HTTP
// servers, the revocation watch as a background task, readiness going
// false as the first step of the shutdown, and the backend connections and
// rate limiter as closers.
package app
