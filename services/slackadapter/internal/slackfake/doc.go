// Package slackfake is an in-repo fake of the Slack Web API for tests:
// chat.postMessage (checks the bot token header, records posts, can answer
// 429 with Retry-After), oauth.v2.access (code exchange and refresh-token
// rotation) and slash-command response URLs (records answers).
package slackfake
