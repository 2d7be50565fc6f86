// Package provider defines the one interface every model backend implements
// (local, openai, bedrock), the provider-neutral call and result types, and
// the capability flags the service checks before routing a request.
//
// A provider receives the parsed request with the upstream model name
// already resolved; it never sees tenant ids or API keys of the caller.
package provider
