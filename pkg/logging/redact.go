package logging

import (
	"regexp"
	"strings"
)

// Redacted replaces every secret the handler removes.
const Redacted = "[REDACTED]"

// SensitiveKey reports whether an attribute named key holds a secret: key,
// lower-cased with '-' read as '_', equals one of the words below or ends in
// "_"+word ("bot_token", "x_api_key"), so "max_tokens" is not sensitive.
func SensitiveKey(key string) bool {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, w := range [...]string{
		"authorization", "password", "passwd", "secret", "token", "api_key", "apikey",
		"client_secret", "signing_secret", "private_key", "secret_access_key", "cookie",
	} {
		if k == w || strings.HasSuffix(k, "_"+w) {
			return true
		}
	}
	return false
}

// keyWords is the inline twin of SensitiveKey's words for "key=value" text.
const keyWords = `(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|secret[_-]access[_-]key|cookie)`

type rule struct {
	re   *regexp.Regexp
	repl string
}

// redactor holds the compiled patterns. Rules run in order; rk_ runs last as
// a net, so no API key survives whatever the earlier rules did.
type redactor struct{ rules []rule }

func newRedactor() *redactor {
	r := func(expr, repl string) rule { return rule{regexp.MustCompile(expr), repl} }
	return &redactor{rules: []rule{
		// Authorization: <scheme> <credentials>, in headers, JSON or key=value.
		r(`(?i)(\bauthorization"?\s*[:=]\s*"?)(?:(?:basic|bearer|digest|token|negotiate)\s+)?[^\s",;]+`, "${1}"+Redacted),
		r(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*`, "Bearer "+Redacted),
		// "password":"...", password=..., x-api-key: ..., client_secret=..., aws_secret_access_key=...
		r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*")(?:[^"\\]|\\.)*("?)`, "${1}"+Redacted+"${2}"),
		r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*)[^\s"',;&}\]]+`, "${1}"+Redacted),
		// Slack bot/user/app/refresh tokens and app-level tokens.
		r(`xox[abposr]-[A-Za-z0-9-]+`, Redacted),
		r(`xapp-[A-Za-z0-9-]+`, Redacted),
		// Rampart API keys: rk_ + 61 base62; anything that long is treated as one.
		r(`rk_[A-Za-z0-9]{20,}`, Redacted),
	}}
}

// String returns s with every secret pattern replaced.
func (r *redactor) String(s string) string {
	if !r.mayHoldSecret(s) {
		return s
	}
	for _, ru := range r.rules {
		s = ru.re.ReplaceAllString(s, ru.repl)
	}
	return s
}

// mayHoldSecret is a cheap pre-filter: most log strings (method names,
// SPIFFE IDs, codes) contain no trigger and skip the regular expressions,
// which keeps the access log off the hot path's profile.
func (r *redactor) mayHoldSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] | 0x20 { // ASCII lower case
		case 'r', 'x', 'b', 'a', 'p', 's', 't', 'k', 'c':
			rest := s[i:]
			// For every rule, a substring each of its matches contains.
			for _, t := range [...]string{"rk_", "xox", "xapp-", "bearer", "authorization", "passw", "secret", "token", "key", "cookie"} {
				if len(rest) >= len(t) && strings.EqualFold(rest[:len(t)], t) {
					return true
				}
			}
		}
	}
	return false
}
