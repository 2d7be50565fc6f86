// Package slackapi is the adapter's Slack Web API client on
// github.com/slack-go/slack: chat.postMessage in thread, oauth.v2.access
// (code exchange and refresh-token rotation) and slash-command response_url
// posts, each honoring 429 Retry-After with bounded retries. Errors never
// carry tokens or response URLs.
package slackapi
