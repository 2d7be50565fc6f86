// Package inference is the service's domain logic, free of gRPC types: it
// parses and validates OpenAI requests (internal/wire), resolves the model
// for the caller's tenant and key (internal/registry), enforces the tool
// policy and token quotas, calls the provider with an optional fallback,
// charges and records real usage, and encodes the OpenAI response or
// stream chunks.
//
// The Caller always comes from the verified principal; nothing in a request
// body can change the tenant. Prompts and completions never go to logs;
// they are stored, encrypted, only for tenants with prompt logging on.
package inference
