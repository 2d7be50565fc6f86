// Package registry is the deployment's model registry: which models exist,
// which provider (upstream) serves each and under what upstream name, their
// prices, optional fallback, and per-tenant allow-lists and aliases. It
// resolves a model name a caller sent to a model the caller may use:
// unknown models and models the tenant may not use are both "not found"
// (no existence leak); models the tenant has but the key may not use
// (principal.allowed_models) are "not allowed" (403).
//
// The registry is loaded from a JSON file (RAMPART_INFERENCE_MODELS) or,
// without one, serves the offline local models to every tenant.
package registry
