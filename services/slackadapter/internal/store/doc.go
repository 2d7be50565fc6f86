// Package store is the slack adapter's SQLite store: seen event ids
// (dedupe with TTL), seen request signatures (slash-command replay, unique
// key), installations (team → tenant, metadata only, disabled on
// uninstall), the sealed per-tenant Rampart API keys, the operator's sealed
// app record, channel bindings and single-use OAuth states. Queries on
// tenant data are scoped by tenant; lookups by Slack team are how a
// request's tenant is found and never take a tenant from Slack.
package store
