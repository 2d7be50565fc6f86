// Package upstreamkey supplies the API keys of OpenAI-compatible upstreams
// from keyvault secrets (registry field api_key_secret), read through
// pkg/secrets' cache: a rotated key is picked up when the cached value's
// TTL ends, or at once after the upstream rejects the old key. Values are
// never logged or returned in errors; failures to read them become a 503
// (upstream_unavailable) for the caller and a log line with the secret's
// name and the cause for the operator.
package upstreamkey
