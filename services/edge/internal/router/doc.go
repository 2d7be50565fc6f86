// Package router assembles the edge's public HTTP handler: the one
// middleware chain, the operational routes (/healthz, /readyz,
// /openapi.json), the reserved /slack/ paths, the mount point of the
// OpenAI-compatible handlers and the grpc-gateway mux for /v1/.
package router
