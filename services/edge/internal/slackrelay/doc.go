// Package slackrelay forwards Slack's HTTP requests (/slack/events,
// /slack/commands, /slack/oauth/callback) to the slack adapter over mTLS
// gRPC — raw body (bounded) and headers unchanged, because Slack's
// signature covers the raw body — and writes the adapter's answer back.
// The route is public at the edge: the adapter authenticates Slack by
// signature (or OAuth state), never the edge.
package slackrelay
