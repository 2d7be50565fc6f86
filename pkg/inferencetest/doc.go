// Package inferencetest is the one test double of the inference service
// for the services that call it (the edge, slackadapter, ingestion): an in-process
// rampart.inference.v1 InferenceService speaking the real protocol over
// real mTLS (pkitest certificates), with real principal verification.
//
// It is scripted and recording, not a second inference. Every call is
// recorded (method, mTLS caller, verified principal, request id, body,
// format, response id) and answered by a Script: the default, Echo, is
// the behaviour of Rampart's "echo" model on chat completions (the last
// user message back, as one chat.completion or word by word as
// chat.completion.chunk objects with usage when asked); tests script
// everything else (Responses API events, embeddings, stored responses,
// errors, a stream held open until the client goes away). Errors are built
// with APIError in the shape inference sends them: an ErrorInfo of
// grpcerr.OpenAIErrorDomain with the OpenAI code, type and param, and a
// RetryInfo. ListModels and GetModel serve Options.Models plus per-tenant
// models (a tenant's assistants) filtered by the principal's
// allowed_models, NotFound (model_not_found) otherwise. EmbedForTenant,
// ingestion's call for a background job's chunks, is answered by an
// Embedder after the same model check for the tenant named in the request.
// Callers are admitted as inference admits them: the permission table
// (pkg/permissions) says which service identities may call each method and
// which methods need no principal assertion.
//
// What inference itself does with a body (OpenAI validation, providers,
// retrieval, tools, usage, stored responses) is inference's to test; the
// e2e tests (tests/e2e) run the real service behind the real edge.
// inference's implementation lives in another module's internal tree and
// no other module may import it (ADR 0043, ADR 0047).
package inferencetest
