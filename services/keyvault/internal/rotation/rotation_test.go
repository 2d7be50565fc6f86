package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
)

var t0 = time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC) // a Monday

// TestParseSchedule is a table of AWS Secrets Manager's documented schedule
// examples ("Schedule expressions in Secrets Manager rotation", and the
// EventBridge cron reference for L and #) and of what AWS refuses.
func TestParseSchedule(t *testing.T) {
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		expr    string
		next    time.Time // first firing after t0 (Monday 2 Nov 2026 10:30 UTC)
		wantErr string
	}{
		// rate(): hour(s) or day(s), singular exactly for 1, 4 hours to 999 days.
		{expr: "rate(4 hours)", next: t0.Add(4 * time.Hour)},
		{expr: "rate(1 day)", next: t0.AddDate(0, 0, 1)},
		{expr: "rate(10 days)", next: t0.AddDate(0, 0, 10)},
		{expr: " rate(12 hours) ", next: t0.Add(12 * time.Hour)},
		{expr: "rate(999 days)", next: t0.AddDate(0, 0, 999)},
		{expr: "rate(1 days)", wantErr: "singular for a Value of 1"},
		{expr: "rate(5 day)", wantErr: "singular for a Value of 1"},
		{expr: "rate(1 hour)", wantErr: "at most every 4 hours"},
		{expr: "rate(3 hours)", wantErr: "at most every 4 hours"},
		{expr: "rate(240 minutes)", wantErr: "not minutes"},
		{expr: "rate(1 minute)", wantErr: "not minutes"},
		{expr: "rate(1000 days)", wantErr: "at most 999 days"},
		{expr: "rate(0 days)", wantErr: "positive integer"},
		{expr: "rate(-3 days)", wantErr: "positive integer"},
		{expr: "rate(+3 days)", wantErr: "positive integer"},
		{expr: "rate(3 weeks)", wantErr: "must be hour, hours, day or days"},
		{expr: "rate(30)", wantErr: "want rate(Value Unit)"},
		{expr: "every 30 days", wantErr: "want rate(Value Unit) or cron("},
		{expr: "", wantErr: "want rate(Value Unit) or cron("},

		// cron(): AWS's examples. Hour increments restart each day.
		{expr: "cron(0 4/12 * * ? *)", next: day(11, 2, 16)},   // 04:00 and 16:00
		{expr: "cron(0 8/8 * * ? *)", next: day(11, 2, 16)},    // 08:00 and 16:00
		{expr: "cron(0 2/10 * * ? *)", next: day(11, 2, 12)},   // 02:00, 12:00, 22:00
		{expr: "cron(0 8 1/7 * ? *)", next: day(11, 8, 8)},     // days 1, 8, 15, 22, 29
		{expr: "cron(0 0 ? * SUN#1 *)", next: day(12, 6, 0)},   // first Sunday of the month
		{expr: "cron(0 16 L * ? *)", next: day(11, 30, 16)},    // last day of the month
		{expr: "cron(0 10 ? * 6L *)", next: day(11, 27, 10)},   // last Friday of the month
		{expr: "cron(0 0 ? * 3#2 *)", next: day(11, 10, 0)},    // second Tuesday (3 = Tuesday)
		{expr: "cron(0 8 ? * MON-FRI *)", next: day(11, 3, 8)}, // weekdays
		{expr: "cron(0 10 * * ? *)", next: day(11, 3, 10)},     // every day at 10:00
		{expr: "cron(0 18 ? * SAT *)", next: day(11, 7, 18)},
		{expr: "cron(0 8 1 * ? *)", next: day(12, 1, 8)},
		{expr: "cron(0 10 1 JAN,APR,JUL,OCT ? *)", next: time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC)},
		// Day-of-week is 1-7 with 1 = Sunday; L alone is Saturday.
		{expr: "cron(0 0 ? * 1 *)", next: day(11, 8, 0)},
		{expr: "cron(0 9 ? * 2-6 *)", next: day(11, 3, 9)},
		{expr: "cron(0 12 ? * 7 *)", next: day(11, 7, 12)},
		{expr: "cron(0 12 ? * L *)", next: day(11, 7, 12)},
		{expr: "cron(0 0 ? * 1/2 *)", next: day(11, 3, 0)}, // SUN, TUE, THU, SAT
		{expr: "cron(0 0 ? * 2,4,6 *)", next: day(11, 4, 0)},
		{expr: "cron(0 0 29 2 ? *)", next: time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},

		{expr: "cron(0 3 * * ?)", wantErr: "6 fields"},
		{expr: "cron(0 3 * * ? * *)", wantErr: "6 fields"},
		{expr: "cron(15 10 * * ? *)", wantErr: "minutes must be 0"},
		{expr: "cron(0 0 * * ? 2027)", wantErr: "year must be *"},
		{expr: "cron(0 0 * * * *)", wantErr: "exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 0 ? * ? *)", wantErr: "exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 0 1 * MON *)", wantErr: "exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 0 ? * 0 *)", wantErr: "outside 1-7"},
		{expr: "cron(0 0 ? * 8 *)", wantErr: "outside 1-7"},
		{expr: "cron(0 0 ? * 9L *)", wantErr: "outside 1-7"},
		{expr: "cron(0 0 ? * 2#6 *)", wantErr: "day-of-week"},
		{expr: "cron(0 0 3W * ? *)", wantErr: "W (nearest weekday) is not supported"},
		{expr: "cron(0 0 L-2 * ? *)", wantErr: "day-of-month"},
		{expr: "cron(0 24 * * ? *)", wantErr: "above maximum"},
		{expr: "cron(0 0 0 * ? *)", wantErr: "below minimum"},
		{expr: "cron(0 0 32 * ? *)", wantErr: "above maximum"},
		{expr: "cron(0 0 * 13 ? *)", wantErr: "above maximum"},
		{expr: "cron(0 0 5-1 * ? *)", wantErr: "beyond end of range"},
		{expr: "cron(0 */0 * * ? *)", wantErr: "positive number"},
		{expr: "cron(0 x * * ? *)", wantErr: "hours"},
		{expr: "cron(0 0 31 2 ? *)", wantErr: "never fires"},
		{expr: "cron(0 */2 * * ? *)", wantErr: "at most every 4 hours"},
		{expr: "cron(0 0,22 * * ? *)", wantErr: "at most every 4 hours"}, // 22:00, then 00:00
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := rotation.ParseSchedule(tc.expr)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.next, s.Next(t0))
			require.Equal(t, strings.TrimSpace(tc.expr), s.String())
		})
	}
}

// A firing time is never repeated: Next is strictly after its argument.
func TestCronNextSequence(t *testing.T) {
	tests := []struct {
		expr string
		want []time.Time
	}{
		{"cron(0 4/12 * * ? *)", []time.Time{
			time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 16, 0, 0, 0, time.UTC)}},
		{"cron(0 2/10 * * ? *)", []time.Time{
			time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 22, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)}},
		{"cron(0 10 ? * 6L *)", []time.Time{
			time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 25, 10, 0, 0, 0, time.UTC), time.Date(2027, 1, 29, 10, 0, 0, 0, time.UTC)}},
		{"cron(0 16 L * ? *)", []time.Time{
			time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC), time.Date(2027, 1, 31, 16, 0, 0, 0, time.UTC), time.Date(2027, 2, 28, 16, 0, 0, 0, time.UTC)}},
		{"cron(0 0 ? * SUN#5 *)", []time.Time{ // only months with five Sundays
			time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := rotation.ParseSchedule(tc.expr)
			require.NoError(t, err)
			at := t0
			for _, want := range tc.want {
				at = s.Next(at)
				require.Equal(t, want, at)
			}
		})
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"rate(30 days)", "cron(0 3 * * ? *)", "cron(0 1-3/2 1,2 * ? *)", "cron(0 0 ? * 6L *)", "cron(0 0 ? * 3#2 *)", "rate(4 hours)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := rotation.ParseSchedule(expr)
		if err != nil {
			return
		}
		next := s.Next(t0)
		require.True(t, next.After(t0), "a valid schedule fires after now: %q", expr)
	})
}

func classes(s string) (lower, upper, digit, punct int) {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upper++
		case c >= '0' && c <= '9':
			digit++
		default:
			punct++
		}
	}
	return
}

func TestRandomPassword(t *testing.T) {
	tests := []struct {
		desc   string
		policy rotation.PasswordPolicy
		length int
		check  func(t *testing.T, l, u, d, p int)
	}{
		{"default: 32 of every class", rotation.PasswordPolicy{}, 32, func(t *testing.T, l, u, d, p int) {
			require.Positive(t, l)
			require.Positive(t, u)
			require.Positive(t, d)
			require.Positive(t, p)
		}},
		{"digits only", rotation.PasswordPolicy{Length: 12, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true}, 12,
			func(t *testing.T, _, _, d, _ int) { require.Equal(t, 12, d) }},
		{"no punctuation", rotation.PasswordPolicy{Length: 64, ExcludePunctuation: true}, 64,
			func(t *testing.T, _, _, _, p int) { require.Zero(t, p) }},
		{"minimum length keeps every class", rotation.PasswordPolicy{Length: 8}, 8, func(t *testing.T, l, u, d, p int) {
			require.Positive(t, l*u*d*p)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			require.NoError(t, rotation.Config{Type: rotation.TypeRandomPassword, Password: tc.policy}.Validate(nil))
			fn, err := rotation.New(rotation.Config{Type: rotation.TypeRandomPassword, Password: tc.policy}, rotation.Deps{})
			require.NoError(t, err)
			seen := map[string]bool{}
			for range 20 {
				v, err := fn.CreateSecret(context.Background(), rotation.Input{})
				require.NoError(t, err)
				require.Len(t, v, tc.length)
				l, u, d, p := classes(string(v))
				tc.check(t, l, u, d, p)
				require.False(t, seen[string(v)], "passwords repeat")
				seen[string(v)] = true
			}
		})
	}
	// With a JSON key only that field changes (database credentials keep
	// username, host, port…); a value that is not a JSON object is refused,
	// never replaced wholesale.
	jsonKey := []struct {
		desc, current string
		want          map[string]any // expected fields besides password
		wantErr       bool
	}{
		{desc: "no current value", current: "", want: map[string]any{}},
		{desc: "database credential", current: `{"username":"app","password":"old","host":"db.internal","port":5432,"engine":"postgres","dbname":"orders"}`,
			want: map[string]any{"username": "app", "host": "db.internal", "port": float64(5432), "engine": "postgres", "dbname": "orders"}},
		{desc: "field absent so far", current: `{"username":"app"}`, want: map[string]any{"username": "app"}},
		{desc: "nested values kept", current: `{"password":"x","options":{"sslmode":"verify-full"},"hosts":["a","b"]}`,
			want: map[string]any{"options": map[string]any{"sslmode": "verify-full"}, "hosts": []any{"a", "b"}}},
		{desc: "plain text", current: "old-password", wantErr: true},
		{desc: "JSON array", current: `["a"]`, wantErr: true},
		{desc: "JSON null", current: `null`, wantErr: true},
		{desc: "JSON string", current: `"x"`, wantErr: true},
	}
	for _, tc := range jsonKey {
		t.Run("json key: "+tc.desc, func(t *testing.T) {
			fn, err := rotation.New(rotation.Config{Type: rotation.TypeRandomPassword, Password: rotation.PasswordPolicy{JSONKey: "password"}}, rotation.Deps{})
			require.NoError(t, err)
			v, err := fn.CreateSecret(context.Background(), rotation.Input{Current: []byte(tc.current)})
			if tc.wantErr {
				require.ErrorContains(t, err, "not a JSON object")
				require.NotContains(t, err.Error(), tc.current)
				return
			}
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(v, &m))
			pw, ok := m["password"].(string)
			require.True(t, ok, "password is a string: %s", v)
			require.Len(t, pw, 32)
			delete(m, "password")
			require.Equal(t, tc.want, m)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	allow := []string{"https://hooks.internal/rotate/", "http://127.0.0.1:9999/"}
	tests := []struct {
		desc    string
		cfg     rotation.Config
		wantErr string
	}{
		{"password ok", rotation.Config{Type: rotation.TypeRandomPassword}, ""},
		{"password too short", rotation.Config{Type: rotation.TypeRandomPassword, Password: rotation.PasswordPolicy{Length: 7}}, "length: must be 8-4096"},
		{"password too long", rotation.Config{Type: rotation.TypeRandomPassword, Password: rotation.PasswordPolicy{Length: 4097}}, "length: must be 8-4096"},
		{"every class excluded", rotation.Config{Type: rotation.TypeRandomPassword, Password: rotation.PasswordPolicy{
			ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true}}, "every character class"},
		{"webhook allowed", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal/rotate/db"}, ""},
		{"webhook allowed loopback", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "http://127.0.0.1:9999/x"}, ""},
		{"webhook outside allow-list", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://evil.example/rotate/db"}, "not in the server's webhook allow-list"},
		{"webhook prefix trick", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal.evil.example/rotate/"}, "allow-list"},
		{"webhook other port", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "http://127.0.0.1:99990/"}, "allow-list"},
		{"webhook not a URL", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "hooks.internal/rotate"}, "absolute http(s) URL"},
		{"webhook file scheme", rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "file:///etc/passwd"}, "absolute http(s) URL"},
		{"api key ok", rotation.Config{Type: rotation.TypeRampartAPIKey, APIKey: rotation.APIKeyOptions{JSONKey: "key", OverlapSeconds: 3600}}, ""},
		{"api key negative overlap", rotation.Config{Type: rotation.TypeRampartAPIKey, APIKey: rotation.APIKeyOptions{OverlapSeconds: -1}}, "overlap_seconds"},
		{"api key huge overlap", rotation.Config{Type: rotation.TypeRampartAPIKey, APIKey: rotation.APIKeyOptions{OverlapSeconds: 400 * 86400}}, "overlap_seconds"},
		{"no type", rotation.Config{}, "type: required"},
		{"unknown type", rotation.Config{Type: "lambda"}, `unknown "lambda"`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			err := tc.cfg.Validate(allow)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	require.ErrorContains(t, rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal/rotate/x"}.Validate(nil), "allow-list",
		"an empty allow-list allows nothing")
	hostOnly := []string{"https://hooks.internal"}
	require.NoError(t, rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal/rotate"}.Validate(hostOnly))
	require.ErrorContains(t, rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal.evil.example/"}.Validate(hostOnly), "allow-list",
		"a host prefix does not admit a longer host name")
	require.ErrorContains(t, rotation.Config{Type: rotation.TypeWebhook, WebhookURL: "https://hooks.internal:8443/"}.Validate(hostOnly), "allow-list",
		"nor another port")
}

func TestWebhookSteps(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		code := status
		mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	fn, err := rotation.New(rotation.Config{Type: rotation.TypeWebhook, WebhookURL: srv.URL}, rotation.Deps{HTTP: srv.Client()})
	require.NoError(t, err)
	ctx := context.Background()
	pending, err := fn.CreateSecret(ctx, rotation.Input{Name: "/prod/db/password/main"})
	require.NoError(t, err)
	in := rotation.Input{Name: "/prod/db/password/main", VersionID: "v2", Pending: pending}
	require.NoError(t, fn.SetSecret(ctx, in))
	require.NoError(t, fn.TestSecret(ctx, in))
	mu.Lock()
	require.Len(t, got, 2)
	require.Equal(t, "setSecret", got[0]["step"])
	require.Equal(t, "testSecret", got[1]["step"])
	require.Equal(t, string(pending), got[1]["pending_value"])
	status = http.StatusInternalServerError
	mu.Unlock()
	err = fn.TestSecret(ctx, in)
	require.ErrorContains(t, err, "status 500")
	require.NotContains(t, err.Error(), string(pending), "no value in errors")
}

// TestWebhookRefusesRedirects: the webhook allow-list is the operator's
// egress boundary for pending secret values, so a webhook under it that
// answers with a redirect (307/308 would re-POST the pending value) fails
// the step instead of taking the value elsewhere, whichever client the
// deployment passes (security review 2026-12-06 evening).
func TestWebhookRefusesRedirects(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		leaked = append(leaked, string(b))
		mu.Unlock()
	}))
	t.Cleanup(elsewhere.Close)
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+"/collect", code)
			}))
			t.Cleanup(allowed.Close)
			for _, deps := range []rotation.Deps{{}, {HTTP: allowed.Client()}} {
				fn, err := rotation.New(rotation.Config{Type: rotation.TypeWebhook, WebhookURL: allowed.URL}, deps)
				require.NoError(t, err)
				in := rotation.Input{Name: "/prod/db/password/main", VersionID: "v2", Pending: []byte("pending-canary-7f3a")}
				err = fn.SetSecret(t.Context(), in)
				require.ErrorContains(t, err, fmt.Sprintf("status %d", code))
				require.NotContains(t, err.Error(), "pending-canary-7f3a")
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, leaked, "the redirect target never received a request")
}

func TestAPIKeyNeedsAuth(t *testing.T) {
	_, err := rotation.New(rotation.Config{Type: rotation.TypeRampartAPIKey}, rotation.Deps{})
	require.ErrorIs(t, err, rotation.ErrNoAuth)
}
