// Package bot is the slack adapter's logic, free of gRPC types: it verifies
// Slack's signature before parsing, answers url_verification, acks events
// and slash commands at once and processes them on a bounded worker pool
// (a full queue answers 503 so Slack retries), dedupes events by message
// (channel+ts: Slack's retries and a mention's app_mention/message pair)
// and refuses replayed slash commands, routes each request to one live
// installation whose tenant owns every team the request names, ignores
// bots and itself, answers mentions, DMs and people's plain replies in
// channel threads it answered in (docs/adr/0128) through inference as the workspace's tenant,
// replies in thread, runs the OAuth v2 install, rotates bot tokens and
// disables an installation on app_uninstalled / tokens_revoked. The tenant
// always comes from the installation record (Slack team → tenant) or, for
// admin calls, from the caller's verified principal.
package bot
