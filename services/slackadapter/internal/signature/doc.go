// Package signature verifies Slack's v0 request signatures: HMAC-SHA256
// over "v0:{X-Slack-Request-Timestamp}:{raw body}" with the app's signing
// secret, computed and compared in constant time by slack-go's
// SecretsVerifier, with the timestamp plain Unix seconds within ±5 minutes
// of an injectable clock (and, by slack-go, of the wall clock). It runs
// before anything parses the body; replays and the body limit are the
// bot's (internal/bot/http.go).
package signature
