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
	// may is a cheap necessary condition for re to match: when it reports
	// false the regular expression is skipped. A URL path such as
	// /v1/secrets/x/token/y:value passes the shared pre-filter (it holds
	// "secret" and "token") but no rule can match it; running all seven
	// expressions on every such access-log line was ~10% of the edge's CPU
	// on secret reads (issue 15).
	may func(string) bool
}

// redactor holds the compiled patterns. Rules run in order; rk_ runs last as
// a net, so no API key survives whatever the earlier rules did.
type redactor struct{ rules []rule }

func newRedactor() *redactor {
	r := func(expr, repl string, may func(string) bool) rule { return rule{regexp.MustCompile(expr), repl, may} }
	return &redactor{rules: []rule{
		// Authorization: <scheme> <credentials>, in headers, JSON or key=value.
		r(`(?i)(\bauthorization"?\s*[:=]\s*"?)(?:(?:basic|bearer|digest|token|negotiate)\s+)?[^\s",;]+`, "${1}"+Redacted,
			func(s string) bool { return containsFold(s, "authorization") }),
		r(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*`, "Bearer "+Redacted,
			func(s string) bool { return containsFold(s, "bearer") }),
		// "password":"...", password=..., x-api-key: ..., client_secret=..., aws_secret_access_key=...
		r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*")(?:[^"\\]|\\.)*("?)`, "${1}"+Redacted+"${2}", keyAssignment),
		r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*)[^\s"',;&}\]]+`, "${1}"+Redacted, keyAssignment),
		// Slack bot/user/app/refresh tokens and app-level tokens.
		r(`xox[abposr]-[A-Za-z0-9-]+`, Redacted, func(s string) bool { return strings.Contains(s, "xox") }),
		r(`xapp-[A-Za-z0-9-]+`, Redacted, func(s string) bool { return strings.Contains(s, "xapp-") }),
		// Rampart API keys: rk_ + 61 base62; anything that long is treated as one.
		r(`rk_[A-Za-z0-9]{20,}`, Redacted, func(s string) bool { return strings.Contains(s, "rk_") }),
	}}
}

// String returns s with every secret pattern replaced.
func (r *redactor) String(s string) string {
	// The pre-filters compare ASCII only, while (?i) also folds a few
	// non-ASCII letters (U+017F ſ to s, U+212A K to k): text with any
	// non-ASCII byte runs every expression.
	ascii := isASCII(s)
	if ascii && !r.mayHoldSecret(s) {
		return s
	}
	for _, ru := range r.rules {
		// may sees the text this rule runs on (after the earlier rules).
		if ascii && ru.may != nil && !ru.may(s) {
			continue
		}
		s = ru.re.ReplaceAllString(s, ru.repl)
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains lower (ASCII lower case) in any
// ASCII case, as the (?i) expressions match it.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if s[i]|0x20 == lower[0] && strings.EqualFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

// keyAssignment is the necessary condition of the two key=value rules: every
// word of keyWords ends in one of these, and the expressions need it
// followed by an optional '"', optional white space (RE2's \s) and ':' or
// '='.
func keyAssignment(s string) bool {
	for _, w := range [...]string{"password", "passwd", "secret", "token", "key", "cookie"} {
		for i := 0; i+len(w) <= len(s); i++ {
			if s[i]|0x20 != w[0] || !strings.EqualFold(s[i:i+len(w)], w) {
				continue
			}
			j := i + len(w)
			if j < len(s) && s[j] == '"' {
				j++
			}
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f') {
				j++
			}
			if j < len(s) && (s[j] == ':' || s[j] == '=') {
				return true
			}
		}
	}
	return false
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
