// Package slackfake is an in-repo fake of the Slack Web API for tests,
// speaking Slack's wire format to slack-go: chat.postMessage (checks the
// bot token header, records posts with their blocks, can answer 429 with
// Retry-After), chat.update, conversations.replies (seeded threads plus
// the bot's own posts, cursor-paginated as Slack's), users.info
// (workspace admins), oauth.v2.access (code exchange and refresh-token
// rotation) and slash-command response URLs (records answers). Messages past Slack's limits are refused as
// Slack refuses them (Check: msg_too_long, invalid_blocks,
// msg_blocks_too_long).
package slackfake
