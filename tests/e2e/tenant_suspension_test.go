package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSuspendedTenantWaitsAndResumes (ADR 0123): through the real stack,
// a tenant suspended by the platform admin gets nothing done and is told so
// where it can be — its chat and REST calls are 403 tenant_suspended (ADR 0132 §2), a mention of the bot
// in its Slack workspace and a slash command get an ephemeral "suspended"
// notice (not silence) and reach no model, and its crawl that was fetching
// a page stops there and waits (the page's request is abandoned, no further
// page is fetched). Resumed, everything works again: chat, REST, the bot's
// grounded answers, and the crawl that waited runs to success.
func TestSuspendedTenantWaitsAndResumes(t *testing.T) {
	const clientID, clientSecret, signingSecret = "e2e.9", "e2e-suspend-client-secret", "e2e-suspend-signing-secret-01234"
	const source = "https://wiki.example.com/it/vpn"

	// A site whose /slow page is held until its request is abandoned.
	var (
		mu      sync.Mutex
		hold    = true
		fetched = map[string]int{}
	)
	slow, abandoned := make(chan struct{}, 4), make(chan struct{}, 4)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched[r.URL.Path]++
		held := hold
		mu.Unlock()
		page := func(title, text string, links ...string) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			var b strings.Builder
			fmt.Fprintf(&b, "<html><head><title>%s</title></head><body><p>%s</p>", title, text)
			for _, l := range links {
				fmt.Fprintf(&b, `<a href="%s">link</a>`, l)
			}
			_, _ = io.WriteString(w, b.String()+"</body></html>")
		}
		switch r.URL.Path {
		case "/robots.txt":
			_, _ = io.WriteString(w, "User-agent: *\nAllow: /\n")
		case "/":
			page("Facilities", "Visitor badges are printed at the north entrance kiosk.", "/slow", "/after")
		case "/slow":
			if held {
				slow <- struct{}{}
				<-r.Context().Done()
				abandoned <- struct{}{}
				return
			}
			page("Parking", "The parking garage closes at ten in the evening.")
		case "/after":
			page("Canteen", "The canteen serves lunch from noon to two.")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return fetched[path]
	}

	slackAPI := startFakeSlackAPI(t, clientID, clientSecret)
	hooks := startResponseURLs(t)
	s := launchWith(t, "RAMPART_SLACKADAPTER_SLACK_API_URL="+slackAPI.srv.URL+"/api/", "RAMPART_SLACKADAPTER_STREAM_UPDATE_INTERVAL=0s",
		"RAMPART_SLACKADAPTER_RESPONSE_URL_HOSTS="+hooks.srv.Listener.Addr().String(), "SSL_CERT_FILE="+hooks.caFile,
		"RAMPART_INGESTION_FETCH_ALLOW_PRIVATE=true")
	platform := s.env["RAMPART_ADMIN_KEY"]
	setSlackApp(t, s, clientID, clientSecret, signingSecret)
	tn := newEscalationTenant(t, s, "suspendable")
	owner := tn.owner
	ingestSlackDoc(t, s, owner, "it-handbook", vpnDoc, source)
	installSlackWorkspace(t, s, owner, slackAPI, "T1")
	require.Equal(t, http.StatusOK, do(t, http.MethodPut, s.baseURL+"/v1/slack/bindings", owner,
		map[string]any{"team_id": "T1", "channel_id": "C42", "collections": []string{"it-handbook"}}, nil))

	chat := func() int {
		t.Helper()
		return do(t, http.MethodPost, s.baseURL+"/v1/chat/completions", owner, map[string]any{
			"model": "echo", "messages": []map[string]any{{"role": "user", "content": "hello"}}}, nil)
	}
	rest := func() int {
		t.Helper()
		return do(t, http.MethodGet, s.baseURL+"/v1/collections", owner, nil, nil)
	}
	n := 0
	mention := func() string {
		t.Helper()
		n++
		ts := fmt.Sprintf("1900000100.%06d", n)
		body, err := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "api_app_id": "AE2E", "event_id": fmt.Sprintf("EvSusp%d", n),
			"event": map[string]any{"type": "app_mention", "user": "U1", "text": "<@UBOTE2E> how often do VPN certificates rotate?", "channel": "C42", "ts": ts}})
		require.NoError(t, err)
		code, ack := postSlackSigned(t, s, signingSecret, "/slack/events", "application/json", body)
		require.Equal(t, http.StatusOK, code, ack)
		return ts
	}
	command := func() slackAnswer {
		t.Helper()
		n++
		form := url.Values{"team_id": {"T1"}, "command": {"/rampart"}, "text": {"ask how often do VPN certificates rotate?"}, "user_id": {"U1"},
			"channel_id": {"C42"}, "response_url": {fmt.Sprintf("%s/hooks/commands/T1/%d", hooks.srv.URL, n)}}
		code, ack := postSlackSigned(t, s, signingSecret, "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode()))
		require.Equal(t, http.StatusOK, code, ack)
		return hooks.next(t)
	}
	answered := func() {
		t.Helper()
		require.Contains(t, slackAPI.finalUpdate(t).Get("text"), "45 days", "a grounded answer")
	}

	// Active: everything works.
	require.Equal(t, http.StatusOK, chat())
	require.Equal(t, http.StatusOK, rest())
	mention()
	answered()

	// A crawl is fetching /slow when the tenant is suspended.
	var crawl struct {
		Job ingestJob `json:"job"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/collections/it-handbook/documents:crawl", owner,
		map[string]any{"url": site.URL + "/", "max_depth": 1, "max_pages": 10}, &crawl))
	select {
	case <-slow:
	case <-time.After(60 * time.Second): // a hang guard
		t.Fatal("the crawl never fetched /slow")
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants/"+tn.id+":suspend", platform, map[string]any{}, nil))

	// The crawl stops at once: its fetch of /slow is abandoned.
	select {
	case <-abandoned:
	case <-time.After(30 * time.Second): // well within the fetch timeout
		t.Fatal("the suspended tenant's crawl kept fetching /slow")
	}
	mu.Lock()
	hold = false
	mu.Unlock()

	// Refused everywhere (within the revocation stream's second).
	// The tenant's right keys are told why (403 tenant_suspended, ADR 0132
	// §2); a wrong key is the plain 401 as ever.
	require.Eventually(t, func() bool { return chat() == http.StatusForbidden }, 30*time.Second, 50*time.Millisecond, "chat")
	code, body := rawDo(t, http.MethodGet, s.baseURL+"/v1/collections", owner, nil)
	require.Equal(t, http.StatusForbidden, code, "REST")
	require.Contains(t, string(body), `"code":"tenant_suspended"`)
	code, body = rawDo(t, http.MethodGet, s.baseURL+"/v1/collections", owner[:len(owner)-7]+"AAAAAAA", nil)
	require.Equal(t, http.StatusUnauthorized, code, "a mangled key of the suspended tenant")
	require.NotContains(t, string(body), "suspended")
	require.Eventually(t, func() bool {
		ts := mention()
		select {
		case up := <-slackAPI.updates: // answered from an assertion cached before the event
			_ = up
			return false
		case e := <-slackAPI.ephemerals:
			require.Equal(t, "U1", e.Get("user"), "shown to the asker alone")
			require.Equal(t, ts, e.Get("thread_ts"))
			require.Contains(t, e.Get("text"), "Rampart is suspended for this workspace")
			return true
		case <-time.After(20 * time.Second): // a hang guard
			t.Fatal("a mention of the suspended workspace got no answer")
			return false
		}
	}, 60*time.Second, 50*time.Millisecond, "Slack mention")
	r := command()
	require.Equal(t, "ephemeral", r.ResponseType)
	require.Contains(t, r.Text, "Rampart is suspended for this workspace", "Slack slash command")
	slackAPI.mu.Lock()
	posts := len(slackAPI.posts)
	slackAPI.mu.Unlock()
	// The crawl waits: nothing more is fetched while suspended.
	time.Sleep(3 * time.Second) // past ingestion's scan of waiting jobs (every 2 s)
	require.Zero(t, count("/after"), "the suspended tenant's crawl fetched on")

	// Resumed: everything works again, and the crawl that waited finishes.
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/tenants/"+tn.id+":resume", platform, map[string]any{}, nil))
	require.Eventually(t, func() bool { return chat() == http.StatusOK }, 30*time.Second, 50*time.Millisecond, "chat")
	require.Equal(t, http.StatusOK, rest(), "REST (it lets ingestion load the tenant's key again)")
	var job struct {
		Job ingestJob `json:"job"`
	}
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, s.baseURL+"/v1/ingest/jobs/"+crawl.Job.ID, owner, nil, &job))
		return job.Job.State == "JOB_STATE_SUCCEEDED" || job.Job.State == "JOB_STATE_FAILED"
	}, 60*time.Second, 100*time.Millisecond, "the crawl that waited ends")
	require.Equal(t, "JOB_STATE_SUCCEEDED", job.Job.State)
	require.Equal(t, 1, count("/after"))
	var res struct {
		Passages []struct {
			Text string `json:"text"`
		} `json:"passages"`
	}
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/search", owner,
		map[string]any{"collection": "it-handbook", "query": "when does the parking garage close", "top_k": 1}, &res))
	require.Len(t, res.Passages, 1)
	require.Contains(t, res.Passages[0].Text, "parking garage closes at ten")
	mention()
	answered()
	slackAPI.mu.Lock()
	require.Greater(t, len(slackAPI.posts), posts, "the bot answers in the channel again")
	slackAPI.mu.Unlock()
}
