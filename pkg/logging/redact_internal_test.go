package logging

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRulePrefiltersAreSafe: skipping a rule whose cheap condition fails
// never changes the result; every rule run unconditionally gives the same
// text for secret-bearing and harmless strings alike.
func TestRulePrefiltersAreSafe(t *testing.T) {
	r := newRedactor()
	all := func(s string) string {
		for _, ru := range r.rules {
			s = ru.re.ReplaceAllString(s, ru.repl)
		}
		return s
	}
	key := "rk_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxY"
	tests := []string{
		"/v1/secrets/dev/bench/token/one:value",
		"/v1/secrets/prod/app/api_key/stripe:putValue",
		"GET /v1/keys/k_123",
		`{"password":"hunter2","user":"x"}`,
		`password = hunter2`,
		"PASSWD=abc&x=1",
		`"client_secret" : "s3cr3t\"still"`,
		"x-api-key: abc123",
		"aws_secret_access_key=AKIAxyz",
		"Cookie: session=abc",
		"Authorization: Bearer abc.def",
		`"authorization":"Basic dXNlcjpwYXNz"`,
		"bearer    tok-en_value==",
		"xoxb-123-456-abc and xapp-1-A-2",
		"presented " + key,
		"short rk_abc stays",
		"token\t=\tvalue",
		"token\"\n: x",
		"tokens are counted: 12",
		`{"secret_string":"s","secret_binary":"YQ==","pending_value":"p"}`,
		"pending-value=abc secret-string: x",
		"the value: 3, a string=4",
		"max_tokens=5",
		"the key is 'k'",
		"paſsword=hunter2",
		"\u212Aey=abc",
		"",
	}
	for _, s := range tests {
		require.Equal(t, all(s), r.String(s), "%q", s)
	}
}

// TestSensitiveKeyFastPath: the in-place ASCII comparison agrees with the
// lower-case-and-replace definition it replaced, for every key shape.
func TestSensitiveKeyFastPath(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"token", true}, {"TOKEN", true}, {"bot_token", true}, {"Bot-Token", true},
		{"x-api-key", true}, {"X_API_KEY", true}, {"apikey", true}, {"authorization", true},
		{"Set-Cookie", true}, {"aws_secret_access_key", true}, {"private_key", true}, {"password", true},
		{"max_tokens", false}, {"tokens", false}, {"xtoken", false}, {"key", false}, {"key_id", false},
		{"tenant_id", false}, {"path", false}, {"", false}, {"_token", true}, {"-token", true},
		{"secretive", false}, {"my_secret", true}, {"passwd", true}, {"client_request_id", false},
		{"TO\u212aEN", true}, {"bot_to\u212Aen", true}, {"ſecret", false}, {"tökén", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, SensitiveKey(tt.key), "%q", tt.key)
		require.Equal(t, sensitiveKeyUnicode(tt.key), SensitiveKey(tt.key), "%q", tt.key)
	}
}

// keyAssignmentForward is keyAssignment as it was first written: from every
// byte forward for a word, then on for the separator. The backward scan
// must agree with it on every input.
func keyAssignmentForward(s string) bool {
	for _, w := range [...]string{"password", "passwd", "secret", "token", "key", "cookie", "string", "binary", "value"} {
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

// TestKeyAssignmentBackwardScan: the backward scan from each separator
// answers as the forward scan for every string of up to four pieces drawn
// from words, their neighbours, quotes, white space and separators.
func TestKeyAssignmentBackwardScan(t *testing.T) {
	pieces := []string{"", "token", "TOKEN", "Secret", "secrets", "passwd", "password", "key", "KeY", "cookie", "ke",
		`"`, `""`, " ", "\t", "\n\r\f", ":", "=", "::", "/", "x", "_", "-", "ſ", "\u212A", "y:value", "/v1/secrets/dev/a/token/b:value"}
	n := 0
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				for _, d := range pieces {
					s := a + b + c + d
					if keyAssignment(s) != keyAssignmentForward(s) {
						t.Fatalf("%q: backward %v, forward %v", s, keyAssignment(s), keyAssignmentForward(s))
					}
					n++
				}
			}
		}
	}
	require.Greater(t, n, 500_000)
	for _, s := range []string{"token:", `secret" =x`, "a_password\t:\n", "x-api-key: abc", "COOKIE=1"} {
		require.True(t, keyAssignment(s), "%q", s)
	}
	for _, s := range []string{"/v1/secrets/dev/bench/token/one:value", "tokens: 12", "token x=1", `token""=1`, "key"} {
		require.False(t, keyAssignment(s), "%q", s)
	}
}

// BenchmarkRedactSecretPath: a secret read's access-log path holds
// "secret" and "token", passes the shared pre-filter and runs the rules'
// own conditions (the key=value one twice) on every read.
func BenchmarkRedactSecretPath(b *testing.B) {
	r := newRedactor()
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String("/v1/secrets/dev/bench/token/one:value")
	}
}

// TestScanAgreesWithItsDefinition: scan's one pass answers what isASCII and
// the pre-filter it replaced (a trigger test at every byte, ADR 0061)
// answered, and SensitiveKey's dispatch on the last letter what comparing
// all words did, on generated strings dense in trigger letters.
func TestScanAgreesWithItsDefinition(t *testing.T) {
	mayHoldSecret := func(s string) bool {
		for i := range len(s) {
			if triggerAt(s[i:]) {
				return true
			}
		}
		return false
	}
	sensitiveAllWords := func(key string) bool {
		if !isASCII(key) {
			return sensitiveKeyUnicode(key)
		}
		for _, w := range sensitiveWords {
			n := len(w)
			if len(key) >= n && equalFoldDash(key[len(key)-n:], w) && (len(key) == n || key[len(key)-n-1] == '_' || key[len(key)-n-1] == '-') {
				return true
			}
		}
		return false
	}
	parts := []string{"rk_", "RK_", "xox", "XAPP-", "bearer", "Bearer", "authorization", "passw", "PASSWD", "secret", "token",
		"Key", "cookie", "_", "-", "a", "k", "t", "s", "x", "/", ":", "=", " ", "é", "\u212a", "\xff", "ion", "ord", "n", "y", "e", "pending_value", "Pending-Value", "_string", "binary", "\"", "\\", "\n", "\x00", "\x1f", "\x7f"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		ascii, may := scan(s)
		require.Equal(t, isASCII(s), ascii, "%q", s)
		if ascii {
			require.Equal(t, mayHoldSecret(s), may, "%q", s)
		} else {
			require.True(t, may, "%q", s)
		}
		require.Equal(t, sensitiveAllWords(s), SensitiveKey(s), "%q", s)
		escapes := strings.ContainsAny(s, "\"\\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 })
		require.Equal(t, ascii && !may && !escapes, plainJSON(s), "%q", s)
		if plainJSON(s) {
			require.False(t, SensitiveKey(s), "%q", s)
		}
	}
}

// TestSecondOfTrigger: scan's two-byte filter never hides a trigger: for
// every first and second byte, followed by the rest of any trigger word,
// triggerAt finds a trigger only where the filter lets it be asked; and
// every trigger word is one triggerAt finds, in both cases.
func TestSecondOfTrigger(t *testing.T) {
	for _, w := range triggerWords {
		require.True(t, triggerAt(w), w)
		require.True(t, triggerAt(strings.ToUpper(w)), w)
	}
	for c := range 256 {
		for d := range 256 {
			pass := byteClass[c] == triggerByte && secondOfTrigger[byte(c)|0x20]&letterBit(byte(d)) != 0
			for _, w := range triggerWords {
				if triggerAt(string([]byte{byte(c), byte(d)}) + w[2:]) {
					require.True(t, pass, "%q%q", c, d)
				}
			}
		}
	}
}

// TestPlainKeysAreNotSensitive: no key that plainJSON accepts is one
// SensitiveKey names, so the JSON fast path (Handler.appendJSON) need not
// ask it: every sensitive word, alone or as a suffix after '_' or '-', in
// lower, upper and mixed case and with '_' written as '-', holds a trigger.
func TestPlainKeysAreNotSensitive(t *testing.T) {
	for _, w := range sensitiveWords {
		for _, k := range []string{w, strings.ToUpper(w), strings.ToUpper(w[:1]) + w[1:], strings.ReplaceAll(w, "_", "-")} {
			for _, key := range []string{k, "x_" + k, "X-" + k, "max_" + k} {
				require.True(t, SensitiveKey(key), key)
				require.False(t, plainJSON(key), key)
			}
		}
	}
}

// TestRuleTriggersAreSafe: a rule's need names a trigger of every match
// (on ASCII text a rule whose triggers scanTriggers did not find cannot
// match, so String skips it), and String — triggers found once per text,
// the key rules' shared pre-filter asked once — gives what running every
// rule on every string gives, on generated strings dense in triggers,
// separators and secrets (ADR 0131).
func TestRuleTriggersAreSafe(t *testing.T) {
	r := newRedactor()
	all := func(s string) string {
		for _, ru := range r.rules {
			s = ru.re.ReplaceAllString(s, ru.repl)
		}
		return s
	}
	parts := []string{"rk_", "RK_", "rk_AbCdEfGhIjKlMnOpQrStUv", "xox", "xoxb-12-ab", "XAPP-", "xapp-1-A", "bearer ", "Bearer abc.def", "authorization",
		"Authorization: ", "passw", "PASSWD", "password", "secret", "_secret", "token", "Key", "api-key", "cookie", "secret_string", "Pending-Value",
		"_", "-", "a", "k", "/", ":", "=", " ", "\"", "\\", "\t", "ion", "ord", "string", "binary", "value", "x", "1", "é", ",", "v1/secrets/"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 30_000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.String()
		if ascii, found := scanTriggers(s); ascii {
			for i, ru := range r.rules {
				if ru.re.MatchString(s) {
					require.NotZero(t, found&ru.need, "rule %d matches %q without its triggers", i, s)
				}
			}
		} else {
			require.Equal(t, uint32(allTriggers), found, "%q", s)
		}
		require.Equal(t, all(s), r.String(s), "%q", s)
	}
}
