package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vpnDoc is the document the Slack tests ask about: plain text, since
// ingestion flattens a Markdown chunk to one line and rampart-extractive
// skips a "sentence" that starts with "#".
var vpnDoc = []byte("VPN certificates rotate every 45 days. The client renews VPN certificates automatically.\n\nPrinters are on floor two.")

// ingestSlackDoc creates collection and ingests content under source,
// waiting for the job to succeed.
func ingestSlackDoc(t *testing.T, s *stack, admin, collection string, content []byte, source string) {
	t.Helper()
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections", admin, map[string]any{"name": collection}, nil))
	var ing struct {
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/"+collection+"/documents", admin, map[string]any{
		"content": content, "source": source, "content_type": "text/plain"}, &ing))
	var job struct {
		Job ingestJob `json:"job"`
	}
	for range 400 {
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+ing.Job.ID, admin, nil, &job))
		if job.Job.State == "JOB_STATE_SUCCEEDED" || job.Job.State == "JOB_STATE_FAILED" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	require.Equal(t, "JOB_STATE_SUCCEEDED", job.Job.State)
}

// installSlackWorkspace installs team for the admin's tenant as a browser
// does: the install link opens Rampart's start page, which sets the
// install cookie and redirects to Slack (ADR 0069 §3); Slack sends the
// browser back to the callback with a code, which completes the install
// only with that cookie.
func installSlackWorkspace(t *testing.T, s *stack, admin string, slackAPI *fakeSlackAPI, team string) {
	t.Helper()
	var inst struct {
		URL string `json:"url"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/slack/install", admin, nil, &inst))
	link, err := url.Parse(inst.URL)
	require.NoError(t, err)
	require.Equal(t, "/slack/oauth/start", link.Path)
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(s.baseURL + link.Path + "?" + link.RawQuery)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Len(t, resp.Cookies(), 1, "the start page binds the install to this browser")
	cookie := resp.Cookies()[0]
	code := "e2e-code-" + team
	slackAPI.mu.Lock()
	slackAPI.codes[code] = team
	slackAPI.mu.Unlock()
	callbackURL := s.baseURL + "/slack/oauth/callback?" + url.Values{"code": {code}, "state": {u.Query().Get("state")}}.Encode()
	resp, err = http.Get(callbackURL) //nolint:gosec // G107: the test stack's own edge
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "another browser (no cookie) cannot complete it: %s", page)
	back, err := http.NewRequest(http.MethodGet, callbackURL, nil)
	require.NoError(t, err)
	back.AddCookie(cookie)
	resp, err = http.DefaultClient.Do(back)
	require.NoError(t, err)
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
}

// postSlackSigned sends body to the edge's public Slack route path signed
// with secret as Slack does, and returns the answer's status and body.
func postSlackSigned(t *testing.T, s *stack, secret, path, contentType string, body []byte) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, s.baseURL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackSign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(out)
}

// responseURLs is Slack's slash-command response_url endpoint: HTTPS (the
// adapter posts only to https URLs on its allowed hosts), its certificate
// in a PEM file for the stack's SSL_CERT_FILE.
type responseURLs struct {
	srv     *httptest.Server
	caFile  string
	answers chan slackAnswer
}

// slackAnswer is a slash command's answer as the adapter posts it.
type slackAnswer struct {
	Text         string          `json:"text"`
	ResponseType string          `json:"response_type"`
	Blocks       json.RawMessage `json:"blocks"`
}

func startResponseURLs(t *testing.T) *responseURLs {
	r := &responseURLs{answers: make(chan slackAnswer, 100)}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var a slackAnswer
		if err := json.NewDecoder(req.Body).Decode(&a); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		r.answers <- a
		_, _ = io.WriteString(w, "ok")
	}))
	r.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "response-url-ca.pem")
	require.NoError(t, os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o600))
	return r
}

func (r *responseURLs) next(t *testing.T) slackAnswer {
	t.Helper()
	select {
	case a := <-r.answers:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("no answer at the response_url")
		return slackAnswer{}
	}
}

// TestSlackKBUseNeedsTheTenantAdminsList (ADR 0097 §1, ADR 0103): through
// the real stack, a Slack workspace admin's `/rampart kb use` of a
// collection that is not on the tenant admins' list for the workspace is
// refused, naming the command that lists it, and binds nothing; a tenant
// admin adds it with the REST policy API (PATCH with update_mask: an
// unknown path and a stale etag are refused first; a PUT with a stale etag
// too, ADR 0112); then the same command
// binds the channel and a mention there gets a grounded answer with the
// document cited.
func TestSlackKBUseNeedsTheTenantAdminsList(t *testing.T) {
	const clientID, clientSecret, signingSecret = "e2e.3", "e2e-kbuse-client-secret", "e2e-kbuse-signing-secret-0123456"
	const source = "https://wiki.example.com/it/vpn"
	slackAPI := startFakeSlackAPI(t, clientID, clientSecret)
	slackAPI.mu.Lock()
	slackAPI.admins["UADMIN"] = true
	slackAPI.mu.Unlock()
	hooks := startResponseURLs(t)
	s := launchWith(t, "RAMPART_SLACKADAPTER_SLACK_API_URL="+slackAPI.srv.URL+"/api/", "RAMPART_SLACKADAPTER_STREAM_UPDATE_INTERVAL=0s",
		"RAMPART_SLACKADAPTER_RESPONSE_URL_HOSTS="+hooks.srv.Listener.Addr().String(), "SSL_CERT_FILE="+hooks.caFile)
	admin := s.env["RAMPART_ADMIN_KEY"]
	setSlackApp(t, s, clientID, clientSecret, signingSecret)
	ingestSlackDoc(t, s, admin, "it-handbook", vpnDoc, source)
	installSlackWorkspace(t, s, admin, slackAPI, "T1")

	n := 0
	kb := func(text string) slackAnswer {
		t.Helper()
		n++ // each command its own response_url, so no two signed bodies are equal (a replay)
		form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {text}, "user_id": {"UADMIN"}, "channel_id": {"C42"},
			"response_url": {fmt.Sprintf("%s/hooks/commands/T1/%d", hooks.srv.URL, n)}}
		code, ack := postSlackSigned(t, s, signingSecret, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()))
		require.Equal(t, http.StatusOK, code, ack)
		return hooks.next(t)
	}
	bindings := func() []map[string]any {
		t.Helper()
		var list struct {
			Bindings []map[string]any `json:"bindings"`
		}
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/slack/bindings?team_id=T1", admin, nil, &list))
		return list.Bindings
	}

	// No list yet: refused, naming the command a tenant admin runs.
	r := kb("kb use it-handbook")
	require.Equal(t, "ephemeral", r.ResponseType)
	require.Contains(t, r.Text, "Not bound: `it-handbook` is not on this workspace's list of what Slack may bind")
	require.Contains(t, r.Text, "`rampart slack policy T1 --add-collection it-handbook`")
	require.Empty(t, bindings(), "nothing bound")

	// The tenant admin's REST policy API. An unknown mask path is a 400
	// naming update_mask; nothing changes.
	policyURL := s.baseURL + "/v1/slack/installations/T1/policy"
	code, body := rawDo(t, http.MethodPatch, policyURL+"?update_mask=bindable_collections,bindable_colections", admin,
		map[string]any{"bindable_collections": []string{"it-handbook"}})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	var apiErr struct {
		Error struct {
			Message, Code string
			Param         *string
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &apiErr), string(body))
	require.Equal(t, "invalid_argument", apiErr.Error.Code)
	require.NotNil(t, apiErr.Error.Param, string(body))
	require.Equal(t, "update_mask", *apiErr.Error.Param)
	require.Contains(t, apiErr.Error.Message, `unknown field path "bindable_colections"`)

	// A read-modify-write with the etag it read; a stale etag is 409.
	var insts struct {
		Installations []struct {
			TeamID string `json:"team_id"`
			Policy struct {
				Etag                string   `json:"etag"`
				BindableCollections []string `json:"bindable_collections"`
			} `json:"policy"`
		} `json:"installations"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/slack/installations", admin, nil, &insts))
	require.Len(t, insts.Installations, 1)
	etag := insts.Installations[0].Policy.Etag
	require.NotEmpty(t, etag)
	require.Empty(t, insts.Installations[0].Policy.BindableCollections, "unchanged by the refused update")
	code, body = rawDo(t, http.MethodPatch, policyURL, admin, map[string]any{"bindable_collections": []string{"it-handbook"}, "etag": "stale"})
	require.Equal(t, http.StatusConflict, code, string(body))
	require.Contains(t, string(body), `"code":"aborted"`)
	var set struct {
		Policy struct {
			BindableCollections []string `json:"bindable_collections"`
			AllowExternalUsers  bool     `json:"allow_external_users"`
			Etag                string   `json:"etag"`
		} `json:"policy"`
	}
	// No update_mask: the gateway takes the body's fields (AIP-134).
	require.Equal(t, http.StatusOK, do(t, http.MethodPatch, policyURL, admin,
		map[string]any{"bindable_collections": []string{"it-handbook"}, "etag": etag}, &set))
	require.Equal(t, []string{"it-handbook"}, set.Policy.BindableCollections)
	require.NotEqual(t, etag, set.Policy.Etag)
	code, body = rawDo(t, http.MethodPatch, policyURL, admin, map[string]any{"allow_external_users": true, "etag": etag})
	require.Equal(t, http.StatusConflict, code, "the etag read before the change is stale now: %s", body)

	// The full replace takes the etag too (ADR 0112): a PUT with the etag
	// read before the PATCH would drop it-handbook; it is 409 with
	// Google's error body and nothing changes. With the current etag it
	// applies; without one it still wins (the etag is optional).
	code, body = rawDo(t, http.MethodPut, policyURL, admin, map[string]any{"bindable_collections": []string{}, "etag": etag})
	require.Equal(t, http.StatusConflict, code, string(body))
	require.NoError(t, json.Unmarshal(body, &apiErr), string(body))
	require.Equal(t, "aborted", apiErr.Error.Code)
	require.Contains(t, apiErr.Error.Message, "etag: the workspace's policy changed since it was read")
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/slack/installations", admin, nil, &insts))
	require.Equal(t, set.Policy.Etag, insts.Installations[0].Policy.Etag, "the refused PUT changed nothing")
	var put struct {
		Policy struct {
			BindableCollections []string `json:"bindable_collections"`
			AllowExternalUsers  bool     `json:"allow_external_users"`
			Etag                string   `json:"etag"`
		} `json:"policy"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, policyURL, admin,
		map[string]any{"bindable_collections": []string{"it-handbook"}, "allow_external_users": true, "etag": set.Policy.Etag}, &put))
	require.True(t, put.Policy.AllowExternalUsers)
	code, body = rawDo(t, http.MethodPut, policyURL, admin, map[string]any{"bindable_collections": []string{}, "etag": set.Policy.Etag})
	require.Equal(t, http.StatusConflict, code, "stale after the PUT: %s", body)
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, policyURL, admin, map[string]any{"bindable_collections": []string{"it-handbook"}}, &put))
	require.Equal(t, []string{"it-handbook"}, put.Policy.BindableCollections)
	require.False(t, put.Policy.AllowExternalUsers, "replaced whole")

	// The Slack admin's command now binds the channel.
	r = kb("kb use it-handbook")
	require.Contains(t, r.Text, "This channel now answers from the collection `it-handbook`")
	list := bindings()
	require.Len(t, list, 1)
	require.Equal(t, "C42", list[0]["channel_id"])
	require.Equal(t, "slack:UADMIN", list[0]["updated_by"])

	// A mention in that channel: a grounded answer citing the document.
	mentionTS := "1900000011.000100"
	ev, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": "EvE2EKB1",
		"event": map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOTE2E> how often do VPN certificates rotate?", "channel": "C42", "ts": mentionTS}})
	require.NoError(t, err)
	code, ack := postSlackSigned(t, s, signingSecret, "/slack/events", "application/json", ev)
	require.Equal(t, http.StatusOK, code, ack)
	final := slackAPI.finalUpdate(t)
	slackAPI.mu.Lock()
	require.Len(t, slackAPI.posts, 1, "one placeholder")
	require.Equal(t, mentionTS, slackAPI.posts[0].Get("thread_ts"), "in the mention's thread")
	slackAPI.mu.Unlock()
	require.Contains(t, final.Get("text"), "45 days", "grounded in the document")
	require.Contains(t, final.Get("text"), "[1]", "cited")
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
	require.Contains(t, all.String(), "*Sources*\n[1] <"+source+"|", "the citation links the document's source")
}
