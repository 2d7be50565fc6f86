package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// fakeSlackAPI is the part of Slack's Web API the bot calls, on the wire
// slack-go speaks (form POSTs, bearer token, JSON answers): oauth.v2.access,
// chat.postMessage, chat.postEphemeral, chat.update, conversations.replies (the thread's
// messages oldest first: those the test says people wrote, and the bot's
// own posts as chat.update left them) and users.info (admins: the
// workspace admins it names).
type fakeSlackAPI struct {
	srv *httptest.Server

	mu      sync.Mutex
	seq     int
	token   string
	codes   map[string]string // code → team
	posts   []url.Values
	updates chan url.Values
	admins  map[string]bool
	threads map[string][]map[string]any // channel+"/"+thread_ts → messages
	replies []string                    // conversations.replies calls: channel+"/"+ts
	// ephemerals are chat.postEphemeral calls (shown to one user).
	ephemerals chan url.Values
	// throttlePosts answers that many chat.postMessage calls 429 with
	// Retry-After: 1, as Slack does; postCalls counts every call.
	throttlePosts, postCalls int
}

// addThreadMessage records a person's message in a thread, as Slack has
// it once they posted it (the root too: thread_ts = ts).
func (f *fakeSlackAPI) addThreadMessage(channel, threadTS, user, text, ts string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := channel + "/" + threadTS
	f.threads[k] = append(f.threads[k], map[string]any{"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": threadTS})
}

// finalUpdate waits up to a minute for the chat.update that ends an answer
// (its text no longer ends with the placeholder's " …").
func (f *fakeSlackAPI) finalUpdate(t *testing.T) url.Values {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case up := <-f.updates:
			if !strings.HasSuffix(up.Get("text"), " …") {
				return up
			}
		case <-deadline:
			f.mu.Lock()
			defer f.mu.Unlock()
			t.Fatalf("no final chat.update; posts: %v", f.posts)
		}
	}
}

func startFakeSlackAPI(t *testing.T, clientID, clientSecret string) *fakeSlackAPI {
	f := &fakeSlackAPI{codes: map[string]string{}, updates: make(chan url.Values, 1000), admins: map[string]bool{},
		threads:    map[string][]map[string]any{},
		ephemerals: make(chan url.Values, 100)}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		if err := r.ParseForm(); err != nil {
			reply(w, map[string]any{"ok": false, "error": "invalid_form_data"})
			return false
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.token == "" || r.Header.Get("Authorization") != "Bearer "+f.token {
			reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return false
		}
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/oauth.v2.access", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		team, known := f.codes[r.PostForm.Get("code")]
		if id != clientID || secret != clientSecret || !known {
			reply(w, map[string]any{"ok": false, "error": "invalid_code"})
			return
		}
		delete(f.codes, r.PostForm.Get("code"))
		f.token = "xoxb-e2e-" + team + "-token"
		reply(w, map[string]any{"ok": true, "access_token": f.token, "token_type": "bot", "scope": "app_mentions:read,chat:write",
			"bot_user_id": "UBOTE2E", "app_id": "AE2E", "team": map[string]string{"id": team, "name": "E2E"}, "enterprise": nil})
	})
	mux.HandleFunc("POST /api/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		f.mu.Lock()
		f.postCalls++
		if f.throttlePosts > 0 {
			f.throttlePosts--
			f.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
			return
		}
		f.seq++
		ts := fmt.Sprintf("1900000000.%06d", f.seq)
		r.PostForm.Set("ts", ts)
		f.posts = append(f.posts, r.PostForm)
		if root := r.PostForm.Get("thread_ts"); root != "" {
			k := r.PostForm.Get("channel") + "/" + root
			f.threads[k] = append(f.threads[k], map[string]any{"type": "message", "user": "UBOTE2E", "bot_id": "BE2E",
				"text": r.PostForm.Get("text"), "ts": ts, "thread_ts": root})
		}
		f.mu.Unlock()
		reply(w, map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": ts})
	})
	mux.HandleFunc("POST /api/chat.postEphemeral", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		f.ephemerals <- r.PostForm
		reply(w, map[string]any{"ok": true, "message_ts": "1900000000.999999"})
	})
	mux.HandleFunc("POST /api/chat.update", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		f.mu.Lock()
		for _, msgs := range f.threads {
			for _, m := range msgs {
				if m["ts"] == r.PostForm.Get("ts") && r.PostForm.Get("text") != "" {
					m["text"] = r.PostForm.Get("text") // the thread shows the message's current text
				}
			}
		}
		f.mu.Unlock()
		f.updates <- r.PostForm
		reply(w, map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": r.PostForm.Get("ts")})
	})
	mux.HandleFunc("POST /api/conversations.replies", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		k := r.PostForm.Get("channel") + "/" + r.PostForm.Get("ts")
		f.mu.Lock()
		f.replies = append(f.replies, k)
		msgs := append([]map[string]any{}, f.threads[k]...)
		f.mu.Unlock()
		reply(w, map[string]any{"ok": true, "messages": msgs, "has_more": false})
	})
	mux.HandleFunc("POST /api/users.info", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		user := r.PostForm.Get("user")
		f.mu.Lock()
		admin := f.admins[user]
		f.mu.Unlock()
		reply(w, map[string]any{"ok": true, "user": map[string]any{"id": user, "name": strings.ToLower(user), "is_admin": admin}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// launchWith runs a dedicated `rampart dev` whose services also get env
// (the shared stack talks to the real slack.com).
func launchWith(t *testing.T, env ...string) *stack {
	t.Helper()
	bin, err := buildBinaries()
	require.NoError(t, err)
	dir := t.TempDir()
	s := &stack{dir: dir, output: &logtest.Buffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(filepath.Join(bin, "rampart"), "dev", "--data-dir", filepath.Join(dir, "data"), "--bin-dir", bin, "--http-addr", "127.0.0.1:0")
	s.cmd.Env = append(devenv.Clean(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	require.NoError(t, s.cmd.Start())
	go func() { s.exited <- s.cmd.Wait() }()
	if err := s.waitUp(filepath.Join(dir, "data", "dev.env")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			if logs, err := os.ReadFile(filepath.Join(dir, "data", "logs", "slackadapter.log")); err == nil {
				t.Logf("slackadapter.log:\n%s", logs)
			}
		}
	})
	return s
}

// TestSlackMentionGroundedThreadedReply: through the real stack (edge,
// auth, keyvault, inference, ingestion, slackadapter) with a fake Slack Web
// API — a document is ingested, a workspace installed by OAuth and a channel
// bound to the collection; a signed mention is answered in its thread by a
// placeholder that chat.update turns into the grounded answer, with the
// document's source as a Slack link. Slack's 429 on the placeholder is
// waited out (Retry-After), Slack's retry of the event (X-Slack-Retry-Num)
// is acknowledged as a duplicate and not answered again, and an
// app_uninstalled disables the workspace and deletes its bot token from
// keyvault (ADR 0137).
func TestSlackMentionGroundedThreadedReply(t *testing.T) {
	const clientID, clientSecret, signingSecret = "e2e.1", "e2e-grounded-client-secret", "e2e-grounded-signing-secret-0123"
	const source = "https://wiki.example.com/it/vpn"
	slackAPI := startFakeSlackAPI(t, clientID, clientSecret)
	s := launchWith(t, "RAMPART_SLACKADAPTER_SLACK_API_URL="+slackAPI.srv.URL+"/api/", "RAMPART_SLACKADAPTER_STREAM_UPDATE_INTERVAL=0s")
	admin := s.env["RAMPART_ADMIN_KEY"]
	setSlackApp(t, s, clientID, clientSecret, signingSecret)

	// The tenant's document. Plain text: ingestion flattens a Markdown
	// chunk to one line, and rampart-extractive skips a "sentence" that
	// starts with "#".
	ingestSlackDoc(t, s, admin, "it-handbook", vpnDoc, source)

	// Install workspace T1 by OAuth: install URL → Slack redirects back.
	installSlackWorkspace(t, s, admin, slackAPI, "T1")

	// A collection the tenant does not have is refused at bind time, naming
	// the field (slackadapter asks ingestion on the admin's principal).
	code, refused := rawDo(t, http.MethodPut, s.baseURL+"/v1/slack/bindings", admin,
		map[string]any{"team_id": "T1", "channel_id": "C42", "collections": []string{"it-handbook", "it-handbok"}})
	require.Equal(t, http.StatusBadRequest, code, string(refused))
	var bad struct {
		Error struct {
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(refused, &bad), string(refused))
	require.Equal(t, "collections[1]", bad.Error.Param, string(refused))
	require.Contains(t, bad.Error.Message, `collection "it-handbok" not found`)

	// Bind channel C42 to the collection.
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/slack/bindings", admin,
		map[string]any{"team_id": "T1", "channel_id": "C42", "collections": []string{"it-handbook"}}, nil))

	// A signed mention; Slack rate-limits the placeholder's first post
	// (429, Retry-After: 1), which is waited out and posted again.
	slackAPI.mu.Lock()
	slackAPI.throttlePosts = 1
	slackAPI.mu.Unlock()
	mentionTS := "1900000001.000100"
	body, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": "EvE2E1",
		"event": map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOTE2E> how often do VPN certificates rotate?", "channel": "C42", "ts": mentionTS}})
	require.NoError(t, err)
	code, ack := slackEvent(t, s, signingSecret, body)
	require.Equal(t, http.StatusOK, code, ack)
	require.Contains(t, ack, "accepted")
	// Slack's retry of it (its ack was late, say) is acknowledged at once
	// and not answered again.
	code, ack = slackEvent(t, s, signingSecret, body, "X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout")
	require.Equal(t, http.StatusOK, code, ack)
	require.Contains(t, ack, "duplicate")

	final := slackAPI.finalUpdate(t)
	slackAPI.mu.Lock()
	require.Len(t, slackAPI.posts, 1, "one placeholder")
	require.Equal(t, 2, slackAPI.postCalls, "the rate-limited post was tried again after Retry-After")
	post := slackAPI.posts[0]
	slackAPI.mu.Unlock()
	require.Equal(t, mentionTS, post.Get("thread_ts"), "threaded reply")
	require.Equal(t, post.Get("ts"), final.Get("ts"), "the placeholder is updated")
	require.Contains(t, final.Get("text"), "45 days", "grounded in the document")
	var blocks []struct {
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	require.NoError(t, json.Unmarshal([]byte(final.Get("blocks")), &blocks))
	var all strings.Builder
	for _, b := range blocks {
		all.WriteString(b.Text.Text + "\n")
	}
	require.Contains(t, all.String(), "<"+source+"|", "the citation links the document's source")
	// Two sentences of one document: one citation, its number on both
	// (ADR 0079), the same numbering as the OpenAI-style answer.
	require.Equal(t, 2, strings.Count(final.Get("text"), "[1]"), "both quoted sentences carry the document's number: %s", final.Get("text"))
	require.NotContains(t, all.String(), "[2]", "one document, one number")
	require.Contains(t, all.String(), "*Sources*\n[1] <"+source+"|", "the document listed once")
	require.Equal(t, 1, strings.Count(all.String(), "<"+source+"|"))
	// Where the quoted sentences are in the file (ADR 0085): both on its
	// first line.
	require.Contains(t, all.String(), "*Sources*\n[1] <"+source+"|"+source+"> (line 1)\n")

	// Slack Connect (ADR 0069 §4, ADR 0097 §3): another organisation's user
	// in the shared channel is not answered until a tenant admin allows
	// external users for the installation.
	external := func(eventID, ts string) string {
		t.Helper()
		body, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": eventID,
			"is_ext_shared_channel": true, "event": map[string]any{"type": "app_mention", "user": "UEXT", "user_team": "TOTHERCO",
				"source_team": "TOTHERCO", "text": "<@UBOTE2E> how often do VPN certificates rotate?", "channel": "C42", "ts": ts}})
		require.NoError(t, err)
		now := strconv.FormatInt(time.Now().Unix(), 10)
		req, err := http.NewRequest(http.MethodPost, s.baseURL+"/slack/events", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Slack-Request-Timestamp", now)
		req.Header.Set("X-Slack-Signature", slackSign(signingSecret, now, body))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		ack, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(ack))
		return string(ack)
	}
	require.Contains(t, external("EvE2EExt1", "1900000002.000100"), "external_user")
	var set map[string]any
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/slack/installations/T1/policy", admin,
		map[string]any{"allow_external_users": true, "bindable_collections": []string{"it-handbook"}}, &set))
	require.Contains(t, fmt.Sprint(set), "it-handbook")
	require.NotContains(t, external("EvE2EExt2", "1900000003.000100"), "external_user")
	deadline := time.After(60 * time.Second)
	for answered := false; !answered; {
		select {
		case up := <-slackAPI.updates:
			answered = !strings.HasSuffix(up.Get("text"), " …") && strings.Contains(up.Get("text"), "45 days")
		case <-deadline:
			t.Fatalf("the allowed external user was not answered; posts: %v", slackAPI.posts)
		}
	}
	slackAPI.mu.Lock()
	require.Equal(t, "1900000003.000100", slackAPI.posts[len(slackAPI.posts)-1].Get("thread_ts"))
	posts := len(slackAPI.posts)
	slackAPI.mu.Unlock()

	// The workspace uninstalls the app: the installation is disabled at
	// once, the bot token deleted from the tenant's keyvault (the real
	// keyvault's default policy lets the adapter delete on its prefix), and
	// the workspace's mentions are no longer answered.
	uninstall, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": "EvE2EUninstall",
		"event": map[string]any{"type": "app_uninstalled"}})
	require.NoError(t, err)
	code, ack = slackEvent(t, s, signingSecret, uninstall)
	require.Equal(t, http.StatusOK, code, ack)
	var insts struct {
		Installations []struct {
			TeamID     string `json:"team_id"`
			DisabledAt string `json:"disabled_at"`
		} `json:"installations"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/slack/installations", admin, nil, &insts))
	require.Len(t, insts.Installations, 1)
	require.NotEmpty(t, insts.Installations[0].DisabledAt, "disabled")
	require.NotEqual(t, "0", insts.Installations[0].DisabledAt, "disabled")
	require.Eventually(t, func() bool {
		logs, _ := os.ReadFile(filepath.Join(s.dir, "data", "logs", "slackadapter.log"))
		return strings.Contains(string(logs), `"msg":"revoked slack bot token deleted from keyvault"`)
	}, 30*time.Second, 100*time.Millisecond, "the bot token is deleted from keyvault")
	after, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": "EvE2EAfter",
		"event": map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOTE2E> anyone?", "channel": "C42", "ts": "1900000009.000100"}})
	require.NoError(t, err)
	code, ack = slackEvent(t, s, signingSecret, after)
	require.Equal(t, http.StatusOK, code, ack)
	require.Contains(t, ack, "not_installed")
	slackAPI.mu.Lock()
	require.Len(t, slackAPI.posts, posts, "nothing posted for an uninstalled workspace")
	slackAPI.mu.Unlock()
}

// slackEvent sends body to /slack/events signed now with secret, with
// extra header name/value pairs, and returns the status and the ack.
func slackEvent(t *testing.T, s *stack, secret string, body []byte, extra ...string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, s.baseURL+"/slack/events", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackSign(secret, ts, body))
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	ack, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(ack)
}
