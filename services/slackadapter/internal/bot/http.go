package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/signature"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// MaxBody is the largest request body accepted (the edge enforces it too).
const MaxBody = 1 << 20

// Request is one HTTP request from Slack, as relayed by the edge.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Response is what to send back to Slack.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

func jsonResp(status int, v any) Response {
	b, _ := json.Marshal(v)
	return Response{Status: status, ContentType: "application/json", Body: b}
}

func errResp(status int, msg string) Response {
	return jsonResp(status, map[string]any{"error": map[string]string{"message": msg}})
}

// HandleHTTP handles one Slack request. It never blocks on Slack, auth's
// key verification aside (cached), or inference: work is queued.
func (a *Adapter) HandleHTTP(ctx context.Context, r Request) Response {
	if len(r.Body) > MaxBody {
		return errResp(http.StatusRequestEntityTooLarge, "body exceeds 1 MiB")
	}
	switch r.Path {
	case "/slack/events":
		return a.count("event", a.events(ctx, r))
	case "/slack/commands":
		return a.count("command", a.commands(ctx, r))
	case "/slack/oauth/callback":
		return a.count("oauth", a.callback(ctx, r))
	default:
		return errResp(http.StatusNotFound, "no Slack route "+r.Path)
	}
}

func (a *Adapter) count(kind string, resp Response) Response {
	a.m.requests.WithLabelValues(kind, fmt.Sprint(resp.Status)).Inc()
	return resp
}

// verify checks the Slack signature with the app's signing secret before
// anything reads the body.
func (a *Adapter) verify(ctx context.Context, r Request) (Response, bool) {
	if r.Method != "" && r.Method != http.MethodPost {
		return errResp(http.StatusMethodNotAllowed, "method must be POST"), false
	}
	creds, err := a.appCredentials(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "slack app credentials unavailable", "err", err)
		return errResp(http.StatusServiceUnavailable, "slack app not configured"), false
	}
	err = signature.Verify([]byte(creds.SigningSecret), r.Header.Get(signature.HeaderTimestamp), r.Header.Get(signature.HeaderSignature), r.Body, a.now())
	if err != nil {
		a.log.InfoContext(ctx, "slack request refused", "reason", err.Error())
		return errResp(http.StatusUnauthorized, "invalid Slack signature"), false
	}
	return Response{}, true
}

// envelope is the Events API outer object.
type envelope struct {
	Type           string          `json:"type"`
	Challenge      string          `json:"challenge"`
	TeamID         string          `json:"team_id"`
	EnterpriseID   string          `json:"enterprise_id"`
	EventID        string          `json:"event_id"`
	Event          json.RawMessage `json:"event"`
	IsExtSharedCh  bool            `json:"is_ext_shared_channel"`
	Authorizations []struct {
		TeamID       string `json:"team_id"`
		EnterpriseID string `json:"enterprise_id"`
	} `json:"authorizations"`
}

// event is the inner event of interest (app_mention, message).
type event struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	BotID       string `json:"bot_id"`
	User        string `json:"user"`
	Text        string `json:"text"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts"`
}

func (a *Adapter) events(ctx context.Context, r Request) Response {
	if resp, ok := a.verify(ctx, r); !ok {
		return resp
	}
	var env envelope
	if err := json.Unmarshal(r.Body, &env); err != nil {
		return errResp(http.StatusBadRequest, "body: not a JSON Events API payload")
	}
	switch env.Type {
	case "url_verification":
		if env.Challenge == "" || len(env.Challenge) > 512 {
			return errResp(http.StatusBadRequest, "challenge: required, at most 512 characters")
		}
		return jsonResp(http.StatusOK, map[string]string{"challenge": env.Challenge})
	case "event_callback":
	default:
		return jsonResp(http.StatusOK, map[string]string{"status": "ignored"})
	}
	if env.TeamID == "" || env.EventID == "" {
		return errResp(http.StatusBadRequest, "team_id and event_id: required")
	}
	var ev event
	if err := json.Unmarshal(env.Event, &ev); err != nil {
		return errResp(http.StatusBadRequest, "event: not an object")
	}
	if ignored(ev) {
		return jsonResp(http.StatusOK, map[string]string{"status": "ignored"})
	}
	fresh, err := a.st.MarkSeen(ctx, env.TeamID, env.EventID, a.now(), a.cfg.DedupeTTL)
	if err != nil {
		a.log.ErrorContext(ctx, "dedupe store", "err", err)
		return errResp(http.StatusServiceUnavailable, "try again")
	}
	if !fresh {
		// A retry (X-Slack-Retry-Num) of an event already accepted.
		a.log.InfoContext(ctx, "duplicate slack event dropped", "event_id", env.EventID, "retry_num", r.Header.Get("X-Slack-Retry-Num"))
		return jsonResp(http.StatusOK, map[string]string{"status": "duplicate"})
	}
	j := job{team: env.TeamID, enterprise: env.EnterpriseID, eventID: env.EventID, ev: ev}
	if !a.enqueue(j) {
		// Not accepted: forget it so Slack's retry is processed.
		if err := a.st.ForgetSeen(context.WithoutCancel(ctx), env.TeamID, env.EventID); err != nil {
			a.log.ErrorContext(ctx, "forget event", "err", err)
		}
		return errResp(http.StatusServiceUnavailable, "busy, retry later")
	}
	return jsonResp(http.StatusOK, map[string]string{"status": "accepted"})
}

// ignored: bots (including this one, whose messages carry bot_id), edits,
// deletions and other subtypes; only app_mention and direct messages count.
func ignored(ev event) bool {
	if ev.BotID != "" || ev.Subtype != "" || ev.User == "" || ev.Channel == "" || strings.TrimSpace(ev.Text) == "" {
		return true
	}
	switch ev.Type {
	case "app_mention":
		return false
	case "message":
		return ev.ChannelType != "im"
	default:
		return true
	}
}

func (a *Adapter) enqueue(j job) bool {
	select {
	case a.queue <- j:
		return true
	default:
		return false
	}
}

func (a *Adapter) commands(ctx context.Context, r Request) Response {
	if resp, ok := a.verify(ctx, r); !ok {
		return resp
	}
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return errResp(http.StatusUnsupportedMediaType, "content type must be application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return errResp(http.StatusBadRequest, "body: not a form")
	}
	team, text, respURL := form.Get("team_id"), strings.TrimSpace(form.Get("text")), form.Get("response_url")
	switch {
	case team == "":
		return errResp(http.StatusBadRequest, "team_id: required")
	case form.Get("command") == "":
		return errResp(http.StatusBadRequest, "command: required")
	case !a.allowedResponseURL(respURL):
		return errResp(http.StatusBadRequest, "response_url: must be an https URL on an allowed Slack host")
	}
	if text == "" {
		return jsonResp(http.StatusOK, map[string]string{"response_type": "ephemeral", "text": "Usage: " + form.Get("command") + " <question>"})
	}
	j := job{team: team, enterprise: form.Get("enterprise_id"), responseURL: respURL,
		ev: event{Type: "command", User: form.Get("user_id"), Channel: form.Get("channel_id"), Text: text}}
	if !a.enqueue(j) {
		return errResp(http.StatusServiceUnavailable, "busy, retry later")
	}
	return jsonResp(http.StatusOK, map[string]string{"response_type": "ephemeral", "text": "Working on it…"})
}

// allowedResponseURL: response_url is a bearer capability we POST to, so a
// forged one must not turn the adapter into a request forger.
func (a *Adapter) allowedResponseURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || (u.Scheme != "https" && (u.Scheme != "http" || !a.httpOK)) {
		return false
	}
	for _, h := range a.cfg.ResponseURLHosts {
		if strings.EqualFold(u.Host, h) {
			return true
		}
	}
	return false
}

// appCreds are the Slack app's credentials (a JSON secret in keyvault).
type appCreds struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	SigningSecret string `json:"signing_secret"`
}

var errNoApp = errors.New("slack app not configured")

func (a *Adapter) appCredentials(ctx context.Context) (appCreds, error) {
	app, err := a.st.App(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return appCreds{}, errNoApp
	}
	if err != nil {
		return appCreds{}, err
	}
	raw, err := a.secret(ctx, app.TenantID, app.SecretName)
	if err != nil {
		return appCreds{}, err
	}
	var c appCreds
	if err := json.Unmarshal([]byte(raw), &c); err != nil || c.SigningSecret == "" || c.ClientID == "" {
		return appCreds{}, fmt.Errorf("secret %s: not a Slack app credentials object", app.SecretName)
	}
	return c, nil
}
