// Package signature verifies Slack's v0 request signatures: HMAC-SHA256
// over "v0:{X-Slack-Request-Timestamp}:{raw body}" with the app's signing
// secret, compared in constant time, with the timestamp within ±5 minutes
// of an injectable clock. It runs before anything parses the body.
package signature
