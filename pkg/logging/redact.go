package logging

import (
	"regexp"
	"strings"
)

// Redacted replaces every secret the handler removes.
const Redacted = "[REDACTED]"

// sensitiveWords are SensitiveKey's words, lower case with '_'.
var sensitiveWords = [...]string{
	"authorization", "password", "passwd", "secret", "token", "api_key", "apikey",
	"client_secret", "signing_secret", "private_key", "secret_access_key", "cookie",
	// Secret values whose secret word is not last: keyvault's value fields
	// and a rotation webhook's body.
	"secret_string", "secret_binary", "pending_value",
}

// SensitiveKey reports whether an attribute named key holds a secret: key,
// lower-cased with '-' read as '_', equals one of the words below or ends in
// "_"+word ("bot_token", "x_api_key"), so "max_tokens" is not sensitive.
//
// It runs for every attribute of every log line (the access log on the hot
// path, issue 15), so ASCII keys are compared in place without allocating;
// other keys take the Unicode lower-casing path (strings.ToLower folds
// U+212A KELVIN SIGN to 'k', so "TO\u212aEN" is "token").
func SensitiveKey(key string) bool {
	if !isASCII(key) {
		return sensitiveKeyUnicode(key)
	}
	if key == "" {
		return false
	}
	// Only the words ending in the key's last letter can be its suffix
	// (every word ends in a letter): a few of the words to compare, not all.
	for _, w := range sensitiveByLast[key[len(key)-1]] {
		n := len(w)
		if len(key) < n || !equalFoldDash(key[len(key)-n:], w) {
			continue
		}
		if len(key) == n {
			return true
		}
		if c := key[len(key)-n-1]; c == '_' || c == '-' {
			return true
		}
	}
	return false
}

// sensitiveByLast lists sensitiveWords by their last letter, under both
// cases of it.
var sensitiveByLast = func() (t [256][]string) {
	for _, w := range sensitiveWords {
		c := w[len(w)-1]
		t[c] = append(t[c], w)
		t[c-('a'-'A')] = append(t[c-('a'-'A')], w)
	}
	return t
}()

func sensitiveKeyUnicode(key string) bool {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	for _, w := range sensitiveWords {
		if k == w || strings.HasSuffix(k, "_"+w) {
			return true
		}
	}
	return false
}

// equalFoldDash reports whether the ASCII string s equals lower (lower case,
// '_' for '-') ignoring ASCII case and reading '-' as '_'.
func equalFoldDash(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-':
			c = '_'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// keyWords is the inline twin of SensitiveKey's words for "key=value" text.
const keyWords = `(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|secret[_-]access[_-]key|cookie|secret[_-](?:string|binary)|pending[_-]value)`

type rule struct {
	re   *regexp.Regexp
	repl string
	// need are the triggers (trigger bits) of which every match of re
	// holds one: on ASCII text without any of them re cannot match and
	// is skipped without asking may. scanTriggers finds every trigger of
	// a text in the pass that tells whether the text holds any, so a rule
	// whose triggers are absent costs a mask test (issue 15, ADR 0131).
	need uint32
	// may is a cheap necessary condition for re to match: when it reports
	// false the regular expression is skipped. A URL path such as
	// /v1/secrets/x/token/y:value passes the shared pre-filter (it holds
	// "secret" and "token") but no rule can match it; running all seven
	// expressions on every such access-log line was ~10% of the edge's CPU
	// on secret reads (issue 15).
	may func(string) bool
	// sameMay: may is the previous rule's, so its answer for a text the
	// previous rule left unchanged is the previous answer.
	sameMay bool
}

// redactor holds the compiled patterns. Rules run in order; rk_ runs last as
// a net, so no API key survives whatever the earlier rules did.
type redactor struct{ rules []rule }

func newRedactor() *redactor {
	r := func(expr, repl string, need uint32, may func(string) bool) rule {
		return rule{re: regexp.MustCompile(expr), repl: repl, need: need, may: may}
	}
	keyRule := r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*)[^\s"',;&}\]]+`, "${1}"+Redacted, keyTriggers, keyAssignment)
	keyRule.sameMay = true
	return &redactor{rules: []rule{
		// Authorization: <scheme> <credentials>, in headers, JSON or key=value.
		r(`(?i)(\bauthorization"?\s*[:=]\s*"?)(?:(?:basic|bearer|digest|token|negotiate)\s+)?[^\s",;]+`, "${1}"+Redacted,
			trigAuthorization, func(s string) bool { return containsFold(s, "authorization") }),
		r(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*`, "Bearer "+Redacted,
			trigBearer, func(s string) bool { return containsFold(s, "bearer") }),
		// "password":"...", password=..., x-api-key: ..., client_secret=..., aws_secret_access_key=...
		r(`(?i)(\b(?:[a-z0-9]+[_-])*`+keyWords+`"?\s*[:=]\s*")(?:[^"\\]|\\.)*("?)`, "${1}"+Redacted+"${2}", keyTriggers, keyAssignment),
		keyRule,
		// Slack bot/user/app/refresh tokens (xoxe-: rotating refresh tokens)
		// and app-level tokens.
		r(`xox[abeposr]-[A-Za-z0-9-]+`, Redacted, trigXox, func(s string) bool { return strings.Contains(s, "xox") }),
		r(`xapp-[A-Za-z0-9-]+`, Redacted, trigXapp, func(s string) bool { return strings.Contains(s, "xapp-") }),
		// Rampart API keys: rk_ + 61 base62; anything that long is treated as one.
		r(`rk_[A-Za-z0-9]{20,}`, Redacted, trigRK, func(s string) bool { return strings.Contains(s, "rk_") }),
	}}
}

// String returns s with every secret pattern replaced.
func (r *redactor) String(s string) string {
	// The pre-filters compare ASCII only, while (?i) also folds a few
	// non-ASCII letters (U+017F ſ to s, U+212A K to k): text with any
	// non-ASCII byte runs every expression.
	ascii, found := scanTriggers(s)
	if ascii && found == 0 {
		return s
	}
	prevMay, prevAsked := false, false // the previous rule's may, for this s
	for _, ru := range r.rules {
		// need and may see the text this rule runs on (after the earlier
		// rules).
		if ascii {
			if found&ru.need == 0 {
				prevAsked = false
				continue
			}
			ok := prevMay
			if !ru.sameMay || !prevAsked {
				ok = ru.may == nil || ru.may(s)
			}
			prevMay, prevAsked = ok, true
			if !ok {
				continue
			}
		}
		if out := ru.re.ReplaceAllString(s, ru.repl); out != s {
			s = out
			ascii, found = scanTriggers(s)
			prevAsked = false
		}
	}
	return s
}

// Byte classes of scan.
const (
	plainByte   = iota // ASCII that starts no trigger
	triggerByte        // the first letter of a trigger, either case
	otherByte          // not ASCII
	escapeByte         // ASCII that slog's JSON handler escapes: '"', '\\', controls (plain to scan)
)

var byteClass = func() (t [256]uint8) {
	for c := 0x80; c < 0x100; c++ {
		t[c] = otherByte
	}
	for c := range 0x20 {
		t[c] = escapeByte
	}
	t['"'], t['\\'] = escapeByte, escapeByte
	for _, c := range "rxbapstkc" {
		t[c], t[c-('a'-'A')] = triggerByte, triggerByte
	}
	return t
}()

// scan reports whether s is ASCII and whether a trigger starts anywhere in
// it. For non-ASCII text may is true.
func scan(s string) (ascii, may bool) {
	ascii, found := scanTriggers(s)
	return ascii, !ascii || found != 0
}

// scanTriggers reports whether s is ASCII and, if it is, the triggers
// (trigger bits) that start anywhere in it, in one pass (every log string
// is scanned; most stop here): bytes that start no trigger cost one table
// look-up. For non-ASCII text found is every bit.
func scanTriggers(s string) (ascii bool, found uint32) {
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case plainByte, escapeByte:
		case triggerByte:
			if i+1 < len(s) && secondOfTrigger[s[i]|0x20]&letterBit(s[i+1]) != 0 {
				found |= triggerBits(s[i:])
			}
		default:
			return false, allTriggers
		}
	}
	return true, found
}

// plainJSON reports whether String(s) is s and slog's JSON handler writes
// s as it is between quotes: scan's answer is (true, false) and no byte is
// one the handler escapes. The access lines' keys and most of their values
// are, and the JSON fast path (Handler.appendJSON) then copies them after
// this one pass instead of scanning them here and again in jsonwrite's
// quoting (issue 15, ADR 0081).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case plainByte:
		case triggerByte:
			if i+1 < len(s) && secondOfTrigger[s[i]|0x20]&letterBit(s[i+1]) != 0 && triggerAt(s[i:]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// secondOfTrigger holds, for the lower-case first letter of each trigger
// of triggerAt, the letters its second byte may be (letterBit): every
// trigger is at least three bytes long and its second byte is a letter, so
// scan calls triggerAt only where the first two bytes can start one. A hex
// request id holds a, b and c, which start triggers, about six times, and
// each call cost ~25 instructions for nothing (issue 15, ADR 0066);
// TestSecondOfTrigger checks the table against triggerAt.
var secondOfTrigger = func() (t [256]uint32) {
	for _, w := range triggerWords {
		t[w[0]] |= letterBit(w[1])
	}
	return t
}()

// triggerWords are triggerAt's triggers, lower case (keep them in step).
var triggerWords = [...]string{"rk_", "xox", "xapp-", "bearer", "authorization", "passw", "pending_value", "pending-value", "secret", "token", "key", "cookie"}

// letterBit is a bit for an ASCII letter in either case (0 for other bytes).
func letterBit(c byte) uint32 {
	if c |= 0x20; 'a' <= c && c <= 'z' {
		return 1 << (c - 'a')
	}
	return 0
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
//
// It looks from each ':' or '=' back (over the white space, then an optional
// '"') for a word ending there, instead of from every byte forward for a word
// and then on for the separator: the same answer (the white space and the
// quote before a separator are found one way only: a word ends in a letter),
// but a secret read's path, /v1/secrets/x/token/y:value, holds "secret" and
// "token" and once cost ~1 µs per rule here, twice on every access-log line
// of a secret read (issue 15, ADR 0055). s is ASCII (String's pre-filters run
// on ASCII text only).
func keyAssignment(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] != ':' && s[k] != '=' {
			continue
		}
		j := k
		for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t' || s[j-1] == '\n' || s[j-1] == '\r' || s[j-1] == '\f') {
			j--
		}
		if j > 0 && s[j-1] == '"' {
			j--
		}
		for _, w := range [...]string{"password", "passwd", "secret", "token", "key", "cookie", "string", "binary", "value"} {
			if j >= len(w) && hasPrefixFold(s[j-len(w):j], w) {
				return true
			}
		}
	}
	return false
}

// triggerAt reports whether rest starts with a trigger of the pre-filter
// (triggerWords, which scan's secondOfTrigger is built from):
// most log strings (method names, SPIFFE IDs, codes) contain none and skip
// the regular expressions, which keeps the access log off the hot path's
// profile. For every rule there is a trigger that each of the rule's
// matches contains, in any ASCII case (String runs every rule on non-ASCII
// text).
func triggerAt(rest string) bool { return triggerBits(rest) != 0 }

// Trigger bits: which trigger triggerBits found. A rule's need names the
// triggers its matches hold.
const (
	trigRK = 1 << iota
	trigXox
	trigXapp
	trigBearer
	trigAuthorization
	trigPassw
	trigPending
	trigSecret
	trigToken
	trigKey
	trigCookie

	allTriggers = 1<<iota - 1
	// keyTriggers: every word of keyWords holds one of these (password,
	// passwd: passw; api_key, private_key: key; secret_access_key,
	// secret_string, secret_binary: secret; pending_value: pending).
	keyTriggers = trigPassw | trigPending | trigSecret | trigToken | trigKey | trigCookie
)

// triggerBits is the bit of the trigger rest starts with, 0 if none.
func triggerBits(rest string) uint32 {
	switch rest[0] | 0x20 { // ASCII lower case
	case 'r':
		return bitIf(hasPrefixFold(rest, "rk_"), trigRK)
	case 'x':
		return bitIf(hasPrefixFold(rest, "xox"), trigXox) | bitIf(hasPrefixFold(rest, "xapp-"), trigXapp)
	case 'b':
		return bitIf(hasPrefixFold(rest, "bearer"), trigBearer)
	case 'a':
		return bitIf(hasPrefixFold(rest, "authorization"), trigAuthorization)
	case 'p':
		return bitIf(hasPrefixFold(rest, "passw"), trigPassw) |
			bitIf(hasPrefixFold(rest, "pending_value") || hasPrefixFold(rest, "pending-value"), trigPending)
	case 's':
		return bitIf(hasPrefixFold(rest, "secret"), trigSecret)
	case 't':
		return bitIf(hasPrefixFold(rest, "token"), trigToken)
	case 'k':
		return bitIf(hasPrefixFold(rest, "key"), trigKey)
	case 'c':
		return bitIf(hasPrefixFold(rest, "cookie"), trigCookie)
	}
	return 0
}

func bitIf(ok bool, bit uint32) uint32 {
	if ok {
		return bit
	}
	return 0
}

// hasPrefixFold reports whether s starts with lower (ASCII lower case) in
// any ASCII case (only letters are folded: "rk_" and "xapp-" keep their
// '_' and '-').
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
