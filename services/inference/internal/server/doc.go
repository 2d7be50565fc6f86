// Package server is the gRPC face of inference: handlers translate between
// inferencev1 messages and internal/inference, taking the caller only from
// the verified principal (pkg/principal). Errors are mapped to gRPC status
// once, in errors.go: the status code, a google.rpc.ErrorInfo (reason = the
// OpenAI error code, metadata type/param and a TPM refusal's
// x-ratelimit-*-tokens headers), a google.rpc.BadRequest naming
// the field for InvalidArgument, and a google.rpc.RetryInfo on 429s.
//
// Scopes (as in pkg/permissions): chat:write for completions and model
// listing; embeddings:write for embeddings;
// usage:read for GetUsage; usage:read AND the owner or admin role for the
// prompt logs. The admin scope grants every scope. A role never stands in
// for a scope: it only narrows what a scope allows.
package server
