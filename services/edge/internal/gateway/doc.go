// Package gateway builds the grpc-gateway runtime.ServeMux that serves the
// REST routes of the backends (/v1/whoami, /v1/keys, /v1/tenants, ...).
// routes.go is the one list of registered services: adding a service's REST
// API to the edge is one line there.
//
// The mux forwards only x-request-id from the HTTP headers; it adds the
// principal assertion (x-rampart-principal) from the authn context and the
// client address computed by the edge (x-forwarded-for). It never forwards
// Authorization (the credential headers are stripped before the mux, and
// the annotator suppresses the key grpc-gateway would derive from it),
// x-forwarded-host (derived from the client's Host header), client-sent
// grpc-* headers (removed by middleware.HeaderGuard; Grpc-Timeout would
// otherwise set the backend call's deadline) nor any backend response
// metadata. JSON bodies are decoded strictly: an
// unknown field is a 400 naming the field.
//
// Responses are written with MarshalOptions (ADR 0070, docs/api/README.md):
// proto names, every field without presence written ([] for an empty
// list), 64-bit integers as strings. Errors name fields relative to the
// JSON body the client sent: BodyField tells the error handler which
// request field a route's body is (body: "assistant").
//
// SecretReads (secretread.go) answers the plain secret read, GET
// /v1/secrets/{name}:value, with the same metadata, marshaler and error
// handler but without the mux's pattern matching, context annotation and
// response forwarding (ADR 0055); any other spelling goes to the mux.
package gateway
