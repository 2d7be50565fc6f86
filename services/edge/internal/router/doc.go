// Package router assembles the edge's public HTTP handler: the one
// middleware chain, the operational routes (/healthz, /readyz,
// /openapi.json), the reserved /slack/ paths and the grpc-gateway mux for
// /v1/ (which also carries the OpenAI-compatible handlers). Every request is
// matched once against the permission table (pkg/permissions); its route
// gives the body limit, write deadline, rate-limit class and metric label,
// and the authentication layer enforces its scopes and minimum role.
package router
