package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// seen is the last request recordingEdge served.
type seen struct {
	method, path, query string
	body                map[string]any
}

// recordingEdge points the CLI (RAMPART_URL, RAMPART_ADMIN_KEY) at an
// edge that answers {} to everything and records the last request in the
// returned seen.
func recordingEdge(t *testing.T) *seen {
	t.Helper()
	got := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery}
		data, _ := io.ReadAll(r.Body)
		if len(data) > 0 {
			require.NoError(t, json.Unmarshal(data, &got.body))
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	return got
}

func TestAdminVerbs(t *testing.T) {
	got := recordingEdge(t)

	tests := []struct {
		args   []string
		stdin  string
		method string
		path   string
		query  string
		body   map[string]any
	}{
		{[]string{"whoami"}, "", "GET", "/v1/whoami", "", nil},
		{[]string{"tenant", "create", "--name", "acme"}, "", "POST", "/v1/tenants", "", map[string]any{"name": "acme"}},
		{[]string{"tenant", "create", "--name", "acme", "--owner", "alice@acme.example"}, "", "POST", "/v1/tenants", "", map[string]any{"name": "acme", "owner_subject": "alice@acme.example"}},
		{[]string{"tenant", "suspend", "t_1"}, "", "POST", "/v1/tenants/t_1:suspend", "", map[string]any{}},
		{[]string{"tenant", "limits", "t_1", "--monthly-tokens", "1000", "--model", "echo", "--max-streams", "40"}, "", "PUT", "/v1/tenants/t_1/limits", "",
			map[string]any{"requests_per_minute": float64(0), "tokens_per_minute": float64(0), "monthly_token_budget": float64(1000), "allowed_models": []any{"echo"},
				"max_concurrent_streams": float64(40)}},
		{[]string{"key", "create", "--name", "ci", "--scopes", "chat:write", "--models", "echo", "--endpoints", "/v1/chat/", "--rpm", "60", "--monthly-tokens", "100000", "--ttl-seconds", "3600"}, "", "POST", "/v1/keys", "",
			map[string]any{"name": "ci", "scopes": []any{"chat:write"}, "allowed_models": []any{"echo"}, "allowed_endpoints": []any{"/v1/chat/"}, "ttl_seconds": float64(3600),
				"limits": map[string]any{"requests_per_minute": float64(60), "tokens_per_minute": float64(0), "monthly_token_budget": float64(100000)}}},
		{[]string{"key", "revoke", "AbC"}, "", "POST", "/v1/keys/AbC:revoke", "", map[string]any{}},
		{[]string{"key", "revoke", "AbC", "--cascade"}, "", "POST", "/v1/keys/AbC:revoke", "", map[string]any{"cascade": true}},
		{[]string{"member", "create", "--subject", "a@b", "--role", "viewer"}, "", "POST", "/v1/members", "", map[string]any{"subject": "a@b", "role": "ROLE_VIEWER"}},
		{[]string{"audit", "verify"}, "", "GET", "/v1/audit:verify", "", nil},
		{[]string{"usage", "--group-by", "model"}, "", "GET", "/v1/usage", "group_by=model", nil},
		{[]string{"secret", "get", "/prod/slackadapter/token/bot", "--stage", "AWSPREVIOUS"}, "", "GET", "/v1/secrets/prod/slackadapter/token/bot:value", "version_stage=AWSPREVIOUS", nil},
		{[]string{"secret", "put", "/prod/app/db/pw", "--value", "-"}, "s3cr3t\n", "POST", "/v1/secrets/prod/app/db/pw:putValue", "", map[string]any{"secret_string": "s3cr3t"}},
		{[]string{"secret", "delete", "/prod/app/db/pw", "--force"}, "", "DELETE", "/v1/secrets/prod/app/db/pw", "force_delete_without_recovery=true", nil},
		{[]string{"secret", "rotate", "/prod/app/db/main", "--function", "random-password", "--json-key", "password"}, "", "POST", "/v1/secrets/prod/app/db/main:rotate", "",
			map[string]any{"rotation_function": map[string]any{"type": "ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD", "password_policy": map[string]any{"json_key": "password"}}}},
		{[]string{"secret", "rotate", "/prod/app/llm/key", "--function", "rampart-api-key", "--json-key", "api_key", "--schedule", "rate(30 days)"}, "", "POST", "/v1/secrets/prod/app/llm/key:rotate", "",
			map[string]any{"rotation_function": map[string]any{"type": "ROTATION_FUNCTION_TYPE_RAMPART_API_KEY", "api_key": map[string]any{"json_key": "api_key"}},
				"rotation_rules": map[string]any{"schedule_expression": "rate(30 days)"}}},
		{[]string{"api", "GET", "/v1/keys"}, "", "GET", "/v1/keys", "", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot(io.Discard, io.Discard)
			root.SetIn(strings.NewReader(tt.stdin))
			root.SetArgs(tt.args)
			require.NoError(t, root.ExecuteContext(context.Background()))
			require.Equal(t, tt.method, got.method)
			require.Equal(t, tt.path, got.path)
			require.Equal(t, tt.query, got.query)
			require.Equal(t, tt.body, got.body)
		})
	}
}

func TestAdminVerbWithoutConfig(t *testing.T) {
	t.Setenv("RAMPART_URL", "")
	t.Setenv("RAMPART_ADMIN_KEY", "")
	t.Setenv("RAMPART_API_KEY", "")
	t.Setenv("RAMPART_DATA_DIR", t.TempDir())
	var out bytes.Buffer
	err := Run(context.Background(), []string{"whoami"}, &out, &out)
	require.ErrorContains(t, err, "no Rampart URL and no API key")
	require.ErrorContains(t, err, "dev.env here", "it names the dev.env it looked for")

	t.Setenv("RAMPART_API_KEY", "rk_unused")
	err = Run(context.Background(), []string{"whoami"}, &out, &out)
	require.ErrorContains(t, err, "no Rampart URL: set RAMPART_URL or pass --url")
}

// TestSecretRotateJSONKeyNeedsAFunction: --json-key only names a field of a
// function that writes one; anything else is refused before any call.
func TestSecretRotateJSONKeyNeedsAFunction(t *testing.T) {
	for _, args := range [][]string{
		{"secret", "rotate", "/prod/app/db/main", "--json-key", "password"},
		{"secret", "rotate", "/prod/app/db/main", "--function", "webhook", "--json-key", "password"},
	} {
		root := newRoot(io.Discard, io.Discard)
		root.SetArgs(append(args, "--url", "http://127.0.0.1:1", "--key", "rk_unused"))
		err := root.Execute()
		require.Error(t, err, args)
		require.Contains(t, err.Error(), "--json-key")
	}
}

// TestSecretRotateNamesTheFlag: the first rotation of a secret needs a
// rotation function; the API's field name is translated into the flag.
func TestSecretRotateNamesTheFlag(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"rotation_function: required: the secret has no rotation function yet","type":"invalid_request_error","code":"invalid_argument","param":"rotation_function"}}`)
	}))
	defer srv.Close()
	for _, tt := range []struct {
		args []string
		hint bool
	}{
		{[]string{"secret", "rotate", "/prod/app/db/main"}, true},
		{[]string{"secret", "rotate", "/prod/app/db/main", "--function", "webhook"}, false},
	} {
		root := newRoot(io.Discard, io.Discard)
		root.SetArgs(append(tt.args, "--url", srv.URL, "--key", "rk_unused"))
		err := root.Execute()
		require.ErrorContains(t, err, "the secret has no rotation function yet", tt.args)
		if tt.hint {
			require.ErrorContains(t, err, "needs --function random-password, webhook or rampart-api-key")
		} else {
			require.NotContains(t, err.Error(), "needs --function")
		}
	}
}

// TestSecretCreateWithoutValue: a secret may be created without a value
// (Secrets Manager's semantics), and the CLI says how to store the first.
func TestSecretCreateWithoutValue(t *testing.T) {
	got := recordingEdge(t)
	var stderr bytes.Buffer
	root := newRoot(io.Discard, &stderr)
	root.SetArgs([]string{"secret", "create", "/prod/app/db/pw"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, "/v1/secrets", got.path)
	require.Equal(t, "note: no --value: /prod/app/db/pw has no version yet; store one with rampart secret put /prod/app/db/pw --value -\n", stderr.String())

	stderr.Reset()
	root = newRoot(io.Discard, &stderr)
	root.SetArgs([]string{"secret", "put", "/prod/app/db/pw", "--value", ""})
	require.NoError(t, root.ExecuteContext(context.Background()), "an explicit empty value is sent; keyvault refuses it (ADR 0084)")
	require.Equal(t, map[string]any{"secret_string": ""}, got.body)
	require.Empty(t, stderr.String())
}

// TestKeyShownOnce: the verbs that answer with a new API key say it cannot
// be read again; the others do not.
func TestKeyShownOnce(t *testing.T) {
	recordingEdge(t)
	for _, tt := range []struct {
		args []string
		note string // the field named; "": no note
	}{
		{[]string{"key", "create", "--name", "ci", "--scopes", "chat:write"}, "api_key"},
		{[]string{"key", "rotate", "AbCdEfGhIjKl"}, "api_key"},
		{[]string{"tenant", "create", "--name", "acme", "--owner", "alice@acme.example"}, "owner_api_key"},
		{[]string{"tenant", "create", "--name", "keyless"}, ""},
		{[]string{"key", "list"}, ""},
	} {
		var stderr bytes.Buffer
		root := newRoot(io.Discard, &stderr)
		root.SetArgs(tt.args)
		require.NoError(t, root.ExecuteContext(context.Background()))
		if tt.note != "" {
			require.Equal(t, "The "+tt.note+" is shown once: store it now (rampart key list shows only metadata).\n", stderr.String(), tt.args)
		} else {
			require.Empty(t, stderr.String(), tt.args)
		}
	}
}

// TestCLIInputErrors: a stray argument, a missing one or a misspelt enum
// value is refused before any call, with what to type instead.
func TestCLIInputErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "create", "acme"}, `tenant create takes no arguments, got ["acme"]: values go in flags (see rampart tenant create --help)`},
		{[]string{"api", "POST", "/v1/tenants", "{}"}, "usage: rampart api METHOD PATH (2 argument(s), got 3; see rampart api --help)"},
		{[]string{"key", "revoke"}, "usage: rampart key revoke KEY_ID (1 argument(s), got 0"},
		{[]string{"member", "create", "--subject", "a@b", "--role", "admn"}, `--role "admn": want owner, admin, member or viewer`},
		{[]string{"member", "create", "--subject", "a@b", "--kind", "robot"}, `--kind "robot": want user or service_account`},
		{[]string{"member", "set-role", "m_1", "--role", ""}, `--role "": want owner, admin, member or viewer`},
		{[]string{"secret", "rotate", "/prod/app/db/pw", "--function", "random-pasword"}, `--function "random-pasword": want random-password, webhook or rampart-api-key`},
		{[]string{"secret", "create", "/prod/app/db/pw", "--value", "x", "--content-type", "yaml"}, `--content-type "yaml": want text, json or binary`},
		// A forgotten --value would make "" the secret's AWSCURRENT.
		{[]string{"secret", "put", "/prod/app/db/pw"}, `--value is required: the new version's value ("-" reads it from stdin)`},
		{[]string{"search", "-c", "handbook"}, "usage: rampart search QUERY... (at least 1 argument(s), got 0; see rampart search --help)"},
		{[]string{"doc", "add", "-c", "handbook"}, "usage: rampart doc add FILE|URL|- ... (at least 1 argument(s), got 0"},
		{[]string{"dev", "ha"}, `dev takes no arguments, got ["ha"]: values go in flags (see rampart dev --help)`},
		{[]string{"slack", "app", "show", "extra"}, `slack app show takes no arguments, got ["extra"]`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot(io.Discard, io.Discard)
			// An unreachable edge: the command must fail before calling it.
			root.SetArgs(append(tt.args, "--url", "http://127.0.0.1:1", "--key", "rk_unused"))
			err := root.Execute()
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
