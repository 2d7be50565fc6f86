package logging

import (
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
