package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/slackadaptertest"
)

func TestSlackAppSetOverMTLS(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "rampart-cli")
	// The adapter keeps what ConfigureApp set; its clock is fixed so
	// `show` prints a known date.
	fake := slackadaptertest.Start(t, dir, slackadaptertest.Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})

	secretFile := filepath.Join(t.TempDir(), "signing")
	require.NoError(t, os.WriteFile(secretFile, []byte("signing-from-file\n"), 0o600))
	t.Setenv("SLACK_CLIENT_SECRET", "client-from-env")
	t.Setenv("SLACK_SIGNING_SECRET", "")
	base := []string{"slack", "app", "--cert-dir", dir, "--slackadapter-addr", fake.Addr}
	tests := []struct {
		name                 string
		args                 []string
		stdin                string
		wantClient, wantSign string
		wantErr              string
	}{
		{"env and file", []string{"set", "--client-id", "123.456", "--signing-secret-file", secretFile}, "", "client-from-env", "signing-from-file", ""},
		{"stdin", []string{"set", "--client-id", "123.456", "--signing-secret-file", secretFile, "--client-secret-file", "-"}, "client-from-stdin\n", "client-from-stdin", "signing-from-file", ""},
		{"no signing secret", []string{"set", "--client-id", "123.456"}, "", "", "", "SLACK_SIGNING_SECRET"},
		{"two stdins", []string{"set", "--client-id", "1", "--client-secret-file", "-", "--signing-secret-file", "-"}, "", "", "", "only one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			root := newRoot(&out, &out)
			root.SetIn(strings.NewReader(tt.stdin))
			root.SetArgs(append(append([]string{}, base...), tt.args...))
			err := root.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			call, ok := fake.LastCall("ConfigureApp")
			require.True(t, ok)
			req, ok := call.Request.(*slackadapterv1.ConfigureAppRequest)
			require.True(t, ok)
			require.Equal(t, "123.456", req.GetClientId())
			require.Equal(t, tt.wantClient, req.GetClientSecret())
			require.Equal(t, tt.wantSign, req.GetSigningSecret())
			require.Equal(t, "spiffe://rampart.local/svc/rampart-cli", call.Caller)
			require.Contains(t, out.String(), `"client_id": "123.456"`)
			require.NotContains(t, out.String(), tt.wantClient, "secrets are not echoed")
		})
	}

	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), append(append([]string{}, base...), "show"), &out, &out))
	require.Contains(t, out.String(), "2027-01-15")
	require.Contains(t, out.String(), "123.456")

	// With dev.env sourced (RAMPART_CA_DIR, RAMPART_SLACKADAPTER_ADDR) the
	// operator verbs need no flags, from any working directory.
	t.Chdir(t.TempDir())
	t.Setenv("RAMPART_CERT_DIR", "")
	t.Setenv("RAMPART_CA_DIR", dir)
	t.Setenv("RAMPART_SLACKADAPTER_ADDR", fake.Addr)
	out.Reset()
	require.NoError(t, Run(context.Background(), []string{"slack", "app", "show"}, &out, &out))
	require.Contains(t, out.String(), "123.456")
}

func TestSlackTenantVerbs(t *testing.T) {
	got := recordingEdge(t)
	tests := []struct {
		args                []string
		method, path, query string
		body                map[string]any
	}{
		{[]string{"slack", "bind", "T1", "--collections", "handbook,faq"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "", "collections": []any{"handbook", "faq"}}},
		{[]string{"slack", "bind", "T1", "-c", "handbook", "--collection", "faq"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "", "collections": []any{"handbook", "faq"}}},
		{[]string{"slack", "bind", "T1", "--channel", "C42", "-a", "kb-support"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "C42", "assistant": "kb-support"}},
		{[]string{"slack", "bind", "T1", "--channel", "C42", "--assistant", "kb-support"}, "PUT", "/v1/slack/bindings", "",
			map[string]any{"team_id": "T1", "channel_id": "C42", "assistant": "kb-support"}},
		{[]string{"slack", "unbind", "T1", "--channel", "C42"}, "DELETE", "/v1/slack/bindings/T1", "channel_id=C42", nil},
		{[]string{"slack", "bindings", "--team", "T1"}, "GET", "/v1/slack/bindings", "team_id=T1", nil},
		{[]string{"slack", "installations"}, "GET", "/v1/slack/installations", "", nil},
		{[]string{"slack", "install-url"}, "GET", "/v1/slack/install", "", nil},
		// ADR 0103: whole lists and the flag are a PATCH of what they name.
		{[]string{"slack", "policy", "T1", "--collections", "handbook,faq", "--assistants", "kb"}, "PATCH", "/v1/slack/installations/T1/policy",
			"update_mask=bindable_assistants%2Cbindable_collections",
			map[string]any{"bindable_collections": []any{"handbook", "faq"}, "bindable_assistants": []any{"kb"}}},
		{[]string{"slack", "policy", "T1", "--allow-external-users"}, "PATCH", "/v1/slack/installations/T1/policy", "update_mask=allow_external_users",
			map[string]any{"allow_external_users": true}},
		{[]string{"slack", "policy", "T1", "-c", "handbook", "-c", "faq", "--allow-external-users=false"}, "PATCH", "/v1/slack/installations/T1/policy",
			"update_mask=bindable_collections%2Callow_external_users",
			map[string]any{"bindable_collections": []any{"handbook", "faq"}, "allow_external_users": false}},
		{[]string{"slack", "policy", "T1", "--clear"}, "PUT", "/v1/slack/installations/T1/policy", "",
			map[string]any{"bindable_collections": []any{}, "bindable_assistants": []any{}, "allow_external_users": false}},
		// ADR 0112: --etag goes with the PUT and the PATCH.
		{[]string{"slack", "policy", "T1", "--clear", "--etag", "e1"}, "PUT", "/v1/slack/installations/T1/policy", "",
			map[string]any{"bindable_collections": []any{}, "bindable_assistants": []any{}, "allow_external_users": false, "etag": "e1"}},
		{[]string{"slack", "policy", "T1", "-c", "faq", "--etag", "e1"}, "PATCH", "/v1/slack/installations/T1/policy", "update_mask=bindable_collections",
			map[string]any{"bindable_collections": []any{"faq"}, "etag": "e1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRoot(io.Discard, io.Discard)
			root.SetArgs(tt.args)
			require.NoError(t, root.ExecuteContext(context.Background()))
			require.Equal(t, seen{method: tt.method, path: tt.path, query: tt.query, body: tt.body}, *got)
		})
	}
	root := newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"slack", "bind", "T1", "--assistant", "a", "--collections", "b"})
	require.Error(t, root.ExecuteContext(context.Background()), "assistant and collections are exclusive")
	root = newRoot(io.Discard, io.Discard)
	root.SetArgs([]string{"slack", "bind", "T1"})
	require.ErrorContains(t, root.ExecuteContext(context.Background()), "assistant collection", "one of them is required")
}

// TestSlackPolicyRefusesAmbiguousCalls: --show and --clear do not mix
// with what they would ignore, nor a whole list with single entries of it.
func TestSlackPolicyRefusesAmbiguousCalls(t *testing.T) {
	got := recordingEdge(t)
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"T1", "--show", "-c", "handbook"}, "--show only prints the policy: drop --collection"},
		{[]string{"T1", "--show", "--clear"}, "--show only prints the policy: drop --clear"},
		{[]string{"T1", "--clear", "--allow-external-users"}, "--clear sets the empty policy: it takes no --allow-external-users"},
		{[]string{"T1", "--etag", "e1"}, "--etag guards a change"},
		{[]string{"T1", "--show", "--etag", "e1"}, "--show only prints the policy: drop --etag"},
		{[]string{"T1", "-c", "handbook", "--add-collection", "faq"}, "none of the others can be"},
		{[]string{"T1", "-a", "kb", "--remove-assistant", "x"}, "none of the others can be"},
		{[]string{"-c", "handbook"}, "TEAM_ID"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			*got = seen{}
			root := newRoot(io.Discard, io.Discard)
			root.SetArgs(append([]string{"slack", "policy"}, tt.args...))
			require.ErrorContains(t, root.ExecuteContext(context.Background()), tt.wantErr)
			require.Equal(t, seen{}, *got, "nothing is sent")
		})
	}
}

// TestSlackPolicyAddRemove (ADR 0103): single entries are a read-modify-
// write: the policy and its etag from GET /v1/slack/installations, then a
// PATCH of the changed list with that etag; a 409 aborted (someone changed
// the policy in between) starts again from the new policy, so their
// change is kept.
func TestSlackPolicyAddRemove(t *testing.T) {
	policies := []string{
		`{"team_id":"T1","bindable_assistants":["kb"],"bindable_collections":["handbook","drafts"],"etag":"e1"}`,
		`{"team_id":"T1","bindable_assistants":["kb"],"bindable_collections":["handbook","drafts","hr"],"etag":"e2"}`,
	}
	var reads int
	var patches []map[string]any
	var masks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /v1/slack/installations":
			_, _ = io.WriteString(w, `{"installations":[{"team_id":"T1","policy":`+policies[min(reads, 1)]+`}]}`)
			reads++
		case "PATCH /v1/slack/installations/T1/policy":
			var body map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			patches, masks = append(patches, body), append(masks, r.URL.Query().Get("update_mask"))
			if body["etag"] != "e2" {
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"error":{"message":"aborted: policy.etag: the workspace's policy changed since it was read","type":"invalid_request_error","param":null,"code":"aborted"}}`)
				return
			}
			_, _ = io.WriteString(w, `{"policy":{"team_id":"T1","bindable_collections":["handbook","hr","faq"],"etag":"e3"}}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")

	var out, errOut bytes.Buffer
	require.NoError(t, Run(context.Background(), []string{"slack", "policy", "T1", "--add-collection", "faq,handbook", "--remove-collection", "drafts"}, &out, &errOut))
	require.Equal(t, 2, reads, "read again after the 409")
	require.Equal(t, []map[string]any{
		{"etag": "e1", "bindable_collections": []any{"handbook", "faq"}},
		{"etag": "e2", "bindable_collections": []any{"handbook", "hr", "faq"}},
	}, patches, "the second try keeps the concurrent addition (hr)")
	require.Equal(t, []string{"bindable_collections", "bindable_collections"}, masks)
	require.Contains(t, errOut.String(), "handbook is already on the list")
	require.Contains(t, out.String(), `"etag": "e3"`, "prints the policy as stored")

	// With --etag the change is for that policy only: the 409 is the
	// answer, not a retry on the policy read now (ADR 0112).
	patches, reads = nil, 1
	err := Run(context.Background(), []string{"slack", "policy", "T1", "--add-collection", "faq", "--etag", "e1"}, &out, &errOut)
	require.ErrorContains(t, err, "aborted")
	require.Len(t, patches, 1, "no retry")
	require.Equal(t, "e1", patches[0]["etag"], "the given etag, not the one read")

	// Not installed: said before anything is sent.
	patches = nil
	err = Run(context.Background(), []string{"slack", "policy", "T9", "--add-collection", "faq"}, &out, &errOut)
	require.ErrorContains(t, err, `slack workspace "T9" is not installed for your tenant`)
	require.Empty(t, patches)
}

// TestSlackPolicyShow: --show prints one installation's policy from GET
// /v1/slack/installations; one without a policy prints the empty policy
// the adapter enforces, and a team that is not installed is an error.
func TestSlackPolicyShow(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "GET /v1/slack/installations", r.Method+" "+r.URL.Path)
		_, _ = io.WriteString(w, `{"installations":[
			{"team_id":"T1","team_name":"acme","policy":{"team_id":"T1","bindable_assistants":["kb"],
				"bindable_collections":["handbook"],"allow_external_users":true,"updated_by":"rampart:alice","updated_at":"1796592619"}},
			{"team_id":"T2","team_name":"beta"}]}`)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("RAMPART_URL", srv.URL)
	t.Setenv("RAMPART_ADMIN_KEY", "test-key")
	for _, tt := range []struct {
		team              string
		want              map[string]any
		wantNote, wantErr string
	}{
		{"T1", map[string]any{"team_id": "T1", "bindable_assistants": []any{"kb"}, "bindable_collections": []any{"handbook"},
			"allow_external_users": true, "updated_by": "rampart:alice", "updated_at": "1796592619"}, "", ""},
		{"T2", map[string]any{"team_id": "T2", "bindable_assistants": []any{}, "bindable_collections": []any{},
			"allow_external_users": false}, "no policy set", ""},
		{"T9", nil, "", `slack workspace "T9" is not installed for your tenant`},
	} {
		t.Run(tt.team, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(context.Background(), []string{"slack", "policy", tt.team, "--show"}, &out, &errOut)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))
			require.Equal(t, tt.want, got)
			if tt.wantNote != "" {
				require.Contains(t, errOut.String(), tt.wantNote)
			} else {
				require.Empty(t, errOut.String())
			}
		})
	}
}

// TestInstallURLWarnsOnPlainHTTPRedirect: Slack refuses a redirect URL that
// is not HTTPS, so install-url says so when the adapter's PUBLIC_URL is the
// dev default; an HTTPS one prints only the answer.
func TestInstallURLWarnsOnPlainHTTPRedirect(t *testing.T) {
	for _, tt := range []struct {
		publicURL string
		note      bool
	}{
		{"http://127.0.0.1:8080", true},
		{"https://rampart.example.com", false},
	} {
		t.Run(tt.publicURL, func(t *testing.T) {
			// The adapter's install link: its start page on PUBLIC_URL
			// (ADR 0069 §3), whose callback is on the same origin.
			authorize := tt.publicURL + "/slack/oauth/start?" + url.Values{"state": {"s"}}.Encode()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, "/v1/slack/install", r.URL.Path)
				_ = json.NewEncoder(w).Encode(map[string]string{"url": authorize, "expires_at": "1796592619"})
			}))
			t.Cleanup(srv.Close)
			t.Setenv("RAMPART_URL", srv.URL)
			t.Setenv("RAMPART_ADMIN_KEY", "test-key")
			var out, errOut bytes.Buffer
			require.NoError(t, Run(context.Background(), []string{"slack", "install-url"}, &out, &errOut))
			var got map[string]string
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))
			require.Equal(t, authorize, got["url"])
			require.Equal(t, "1796592619", got["expires_at"], "stdout keeps the REST answer (ADR 0070)")
			require.Contains(t, errOut.String(), "the link is valid until 2026-12-06T21:30:19Z")
			if tt.note {
				require.Contains(t, errOut.String(), "Slack accepts only HTTPS redirect URLs")
				require.Contains(t, errOut.String(), "RAMPART_SLACKADAPTER_PUBLIC_URL")
				require.Contains(t, errOut.String(), tt.publicURL+"/slack/oauth/callback")
			} else {
				require.NotContains(t, errOut.String(), "HTTPS")
			}
		})
	}
}

// TestUnixSeconds: install-url reads expires_at as the REST contract writes
// int64 (a string, ADR 0070) or as a bare number, and prints no time for
// an absent, zero or malformed one.
func TestUnixSeconds(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want string // "" -> no time
	}{
		{`"1796592619"`, "2026-12-06T21:30:19Z"},
		{`1796592619`, "2026-12-06T21:30:19Z"},
		{`"0"`, ""},
		{``, ""},
		{`null`, ""},
		{`"soon"`, ""},
		{`"-5"`, ""},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			at, ok := unixSeconds(json.RawMessage(tt.raw))
			if tt.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			require.Equal(t, tt.want, at.Format(time.RFC3339))
		})
	}
}
