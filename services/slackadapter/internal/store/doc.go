// Package store is the slack adapter's SQLite store: seen event ids
// (dedupe with TTL), installations (team → tenant, metadata only), the
// sealed per-tenant Rampart API keys, the app record and single-use OAuth
// states. Queries on tenant data are scoped by tenant; lookups by Slack team
// are how a request's tenant is found and never take a tenant from Slack.
package store
