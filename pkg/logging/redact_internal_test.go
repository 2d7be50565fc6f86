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
