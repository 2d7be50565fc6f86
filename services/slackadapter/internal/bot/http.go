package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// Response is what to send back to Slack (or, for the install pages, to
// the admin's browser).
type Response struct {
	Status      int
	ContentType string
	Body        []byte
	// Header holds the few headers the edge passes on (Location,
	// Set-Cookie, Cache-Control, Referrer-Policy); nil for most answers.
	Header http.Header
}

func jsonResp(status int, v any) Response {
	b, _ := json.Marshal(v)
	return Response{Status: status, ContentType: "application/json", Body: b}
}

// errResp is the edge's one error body, {"error":{"message","type",
// "param","code"}}, with the type and code its status has at the edge
// (services/edge/internal/httperr), so an operator reading a refused
// /slack/* answer sees the shape every other route gives.
func errResp(status int, msg string) Response {
	typ, code := "invalid_request_error", "invalid_argument"
	switch status {
	case http.StatusUnauthorized:
		typ, code = "authentication_error", "invalid_signature"
	case http.StatusForbidden:
		typ, code = "permission_error", "permission_denied"
	case http.StatusNotFound:
		typ, code = "not_found_error", "not_found"
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case http.StatusConflict:
		code = "replayed_request"
	case http.StatusRequestEntityTooLarge:
		code = "request_too_large"
	case http.StatusUnsupportedMediaType:
		code = "unsupported_media_type"
	case http.StatusServiceUnavailable:
		typ, code = "server_error", "service_unavailable"
	}
	return jsonResp(status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
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
	case "/slack/oauth/start":
		return a.count("oauth", a.startInstall(ctx, r))
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
	// During a rotation's overlap the previous signing secret verifies too
	// (ADR 0126); the reason logged is the current secret's.
	for _, prev := range creds.previousSigning {
		if err == nil {
			break
		}
		if signature.Verify([]byte(prev), r.Header.Get(signature.HeaderTimestamp), r.Header.Get(signature.HeaderSignature), r.Body, a.now()) == nil {
			a.log.InfoContext(ctx, "slack request verified with the previous signing secret (rotation overlap)")
			err = nil
		}
	}
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
	Authorizations []authorization `json:"authorizations"`
}

// authorization is one installation an event is delivered for.
type authorization struct {
	TeamID              string `json:"team_id"`
	EnterpriseID        string `json:"enterprise_id"`
	IsEnterpriseInstall bool   `json:"is_enterprise_install"`
}

// event is the inner event of interest (app_mention, message, and the
// app_uninstalled / tokens_revoked lifecycle events).
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
	// UserTeam is the workspace of the user who wrote; in a Slack Connect
	// channel it may be another organisation's.
	UserTeam string `json:"user_team"`
	Tokens   struct {
		OAuth []string `json:"oauth"`
		Bot   []string `json:"bot"`
	} `json:"tokens"`
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
	lifecycle := ev.Type == "app_uninstalled" || ev.Type == "tokens_revoked"
	k := classify(ev, "")
	if !lifecycle && k == kindIgnored {
		return jsonResp(http.StatusOK, map[string]string{"status": "ignored"})
	}
	// A lifecycle event retried after a failure finds the installation
	// disabled already and must still complete.
	inst, resp, ok := a.route(ctx, env.TeamID, env.EnterpriseID, env.Authorizations, lifecycle)
	if !ok {
		return resp
	}
	checkOrg, resp, ok := a.writerCheck(ctx, ev, inst, lifecycle)
	if !ok {
		return resp
	}
	// Asked before the dedupe mark: a reply that is not the bot's business
	// must not take the mark its app_mention twin needs.
	if !lifecycle {
		if resp, ok := a.wanted(ctx, inst, ev, k); !ok {
			return resp
		}
	}
	key, resp, ok := a.markSeen(ctx, r, env, ev, lifecycle)
	if !ok {
		return resp
	}
	forget := func() {
		// Not done: forget the event so Slack's retry is processed.
		if err := a.st.ForgetSeen(context.WithoutCancel(ctx), env.TeamID, key); err != nil {
			a.log.ErrorContext(ctx, "forget event", "err", err)
		}
	}
	if lifecycle {
		// Handled before the ack (a database write and one keyvault call):
		// a failure answers 503 and Slack delivers the event again.
		if err := a.lifecycle(ctx, inst, ev); err != nil {
			a.log.WarnContext(ctx, "slack lifecycle event failed", "tenant_id", inst.TenantID, "team_id", inst.TeamID, "kind", ev.Type, "err", err)
			forget()
			return errResp(http.StatusServiceUnavailable, "try again")
		}
		return jsonResp(http.StatusOK, map[string]string{"status": "accepted"})
	}
	j := job{tenant: inst.TenantID, team: inst.TeamID, eventID: env.EventID, ev: ev, checkOrg: checkOrg}
	if !a.enqueue(j) {
		forget()
		return errResp(http.StatusServiceUnavailable, "busy, retry later")
	}
	return jsonResp(http.StatusOK, map[string]string{"status": "accepted"})
}

// markSeen marks what the event is about as accepted and refuses it if it
// was already: a message is answered once, and a reply that mentions the
// bot arrives as app_mention and as message, two event ids for one
// channel+ts (ADR 0128); a retry has the same channel+ts too. A lifecycle
// event is keyed by its event id. key is what ForgetSeen takes back.
func (a *Adapter) markSeen(ctx context.Context, r Request, env envelope, ev event, lifecycle bool) (key string, resp Response, ok bool) {
	key = env.EventID
	if !lifecycle && ev.TS != "" {
		key = "msg:" + ev.Channel + ":" + ev.TS
	}
	fresh, err := a.st.MarkSeen(ctx, env.TeamID, key, a.now(), a.cfg.DedupeTTL)
	if err != nil {
		a.log.ErrorContext(ctx, "dedupe store", "err", err)
		return "", errResp(http.StatusServiceUnavailable, "try again"), false
	}
	if !fresh {
		// A retry (X-Slack-Retry-Num) of an event already accepted, or the
		// other event of a message already accepted.
		a.log.InfoContext(ctx, "duplicate slack event dropped", "event_id", env.EventID, "kind", ev.Type, "retry_num", r.Header.Get("X-Slack-Retry-Num"))
		return "", jsonResp(http.StatusOK, map[string]string{"status": "duplicate"}), false
	}
	return key, Response{}, true
}

// route finds the live installation a request from Slack is for and
// checks that the request's teams all belong to that installation's
// tenant: the envelope's team_id (or, for an org-wide install, its
// enterprise_id) and every team in authorizations. A request naming a
// workspace installed for another tenant is refused, so one tenant's
// installation can never act on another tenant's workspace. Not installed
// or uninstalled (unless disabledOK) answers 200: Slack must not retry.
func (a *Adapter) route(ctx context.Context, team, enterprise string, auths []authorization, disabledOK bool) (store.Installation, Response, bool) {
	inst, err := a.st.InstallationByTeam(ctx, team, enterprise)
	if errors.Is(err, store.ErrNotFound) || (err == nil && inst.Disabled() && !disabledOK) {
		a.m.replies.WithLabelValues("not_installed").Inc()
		return store.Installation{}, jsonResp(http.StatusOK, map[string]string{"status": "not_installed"}), false
	}
	if err != nil {
		a.log.ErrorContext(ctx, "installation lookup", "err", err)
		return store.Installation{}, errResp(http.StatusServiceUnavailable, "try again"), false
	}
	// An org-wide installation is recorded under the org id; it only
	// serves requests that name that org.
	if inst.TeamID != team && (enterprise == "" || inst.TeamID != enterprise) {
		return store.Installation{}, a.mismatch(ctx, team, inst), false
	}
	for _, au := range auths {
		id := au.TeamID
		if au.IsEnterpriseInstall || id == "" {
			id = au.EnterpriseID
		}
		if id == "" {
			continue
		}
		other, err := a.st.InstallationByTeam(ctx, id, "")
		if err != nil || other.TenantID != inst.TenantID || (other.Disabled() && !disabledOK) {
			return store.Installation{}, a.mismatch(ctx, id, inst), false
		}
	}
	return inst, Response{}, true
}

func (a *Adapter) mismatch(ctx context.Context, team string, inst store.Installation) Response {
	a.m.replies.WithLabelValues("team_mismatch").Inc()
	a.log.WarnContext(ctx, "slack request refused: team does not match the installation", "team_id", team, "installation_team_id", inst.TeamID, "tenant_id", inst.TenantID)
	return errResp(http.StatusForbidden, "team_id: does not match an installation of the tenant the request is routed to")
}

// writerCheck refuses an event of another organisation's user (Slack
// Connect, ADR 0069 §4) unless the tenant's admins allowed external users
// for inst (ADR 0097 §3). On an org-wide installation a writer of another
// workspace may be the organisation's own: checkOrg has the job ask Slack
// after the ack (users.info), as Slack is never asked before it.
func (a *Adapter) writerCheck(ctx context.Context, ev event, inst store.Installation, lifecycle bool) (checkOrg bool, resp Response, ok bool) {
	if lifecycle || ev.UserTeam == "" || ev.UserTeam == inst.TeamID {
		return false, Response{}, true
	}
	p, err := a.st.PolicyFor(ctx, inst.TenantID, inst.TeamID)
	if err != nil {
		a.log.ErrorContext(ctx, "installation policy", "err", err)
		return false, errResp(http.StatusServiceUnavailable, "try again"), false
	}
	switch {
	case p.AllowExternalUsers:
		return false, Response{}, true
	case orgWide(inst):
		return true, Response{}, true
	}
	a.m.replies.WithLabelValues("external_user").Inc()
	a.log.InfoContext(ctx, "slack event from another organisation's user dropped", "tenant_id", inst.TenantID, "team_id", inst.TeamID, "user_team", ev.UserTeam)
	return false, jsonResp(http.StatusOK, map[string]string{"status": "external_user"}), false
}

// orgWide reports whether inst is an org-wide (Enterprise Grid)
// installation: recorded under its organisation's id, it serves every
// workspace of the organisation, and an event does not say which
// organisation a writer's workspace belongs to (ADR 0069 §4, ADR 0097 §3).
func orgWide(inst store.Installation) bool {
	return inst.EnterpriseID != "" && inst.TeamID == inst.EnterpriseID
}

// ownOrg reports whether user (of another workspace than the event's)
// belongs to org-wide inst's organisation, asking Slack (users.info) at
// most once per orgCache TTL (concurrent messages of one writer share the
// call). A failure to find out is not an answer: the caller refuses, and
// it is not remembered.
func (a *Adapter) ownOrg(ctx context.Context, inst store.Installation, user string) (bool, error) {
	key := orgCacheKey(inst.TenantID, inst.TeamID, inst.EnterpriseID, user)
	return a.orgs.lookup(ctx, key, func(ctx context.Context) (bool, error) {
		bot, err := a.botToken(ctx, inst)
		if err != nil {
			return false, err
		}
		org, err := a.slack.UserOrg(ctx, bot.AccessToken, user)
		if err != nil {
			return false, fmt.Errorf("users.info: %w", err)
		}
		return org != "" && org == inst.EnterpriseID, nil
	})
}

// kind is what an event asks of the bot.
type kind int

const (
	kindIgnored     kind = iota
	kindMention          // app_mention: answered
	kindDM               // a message in a DM with the bot: answered
	kindThreadReply      // a plain reply in a channel thread: answered in a thread the bot answered in (ADR 0128)
)

// classify tells which events are answered. Ignored: bots' messages (this
// one's carry bot_id, and its user is botUser once known), edits
// (message_changed), deletions (message_deleted), broadcasts and every
// other subtype, events without a user, channel or text, and channel
// messages that are not thread replies (a top-level message that mentions
// the bot is answered as its app_mention).
func classify(ev event, botUser string) kind {
	if ev.BotID != "" || ev.Subtype != "" || ev.User == "" || ev.Channel == "" || strings.TrimSpace(ev.Text) == "" ||
		(botUser != "" && ev.User == botUser) {
		return kindIgnored
	}
	switch ev.Type {
	case "app_mention":
		return kindMention
	case "message":
		switch ev.ChannelType {
		case "im":
			return kindDM
		case "channel", "group":
			if ev.ThreadTS != "" && ev.ThreadTS != ev.TS {
				return kindThreadReply
			}
		}
	}
	return kindIgnored
}

// wanted refuses the bot's own messages (by its user, once the
// installation names it) and lets a plain thread reply (k) through only in
// a thread the bot answered in for inst's tenant (ADR 0128). Anything else
// is not the bot's business: acknowledged as ignored and counted, never
// answered.
func (a *Adapter) wanted(ctx context.Context, inst store.Installation, ev event, k kind) (Response, bool) {
	if classify(ev, inst.BotUserID) == kindIgnored {
		a.m.replies.WithLabelValues("self").Inc()
		return jsonResp(http.StatusOK, map[string]string{"status": "ignored"}), false
	}
	if k != kindThreadReply {
		return Response{}, true
	}
	in, err := a.st.InBotThread(ctx, inst.TenantID, inst.TeamID, ev.Channel, ev.ThreadTS, a.now())
	if err != nil {
		a.log.ErrorContext(ctx, "bot thread lookup", "err", err)
		return errResp(http.StatusServiceUnavailable, "try again"), false
	}
	if !in {
		a.m.replies.WithLabelValues("not_bot_thread").Inc()
		a.log.DebugContext(ctx, "slack thread reply outside the bot's threads ignored", "team_id", inst.TeamID, "channel_id", ev.Channel)
		return jsonResp(http.StatusOK, map[string]string{"status": "ignored"}), false
	}
	return Response{}, true
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
	// A slash command has no id Slack would retry with: a second delivery
	// of the same signed request is a replay. The database's primary key
	// on (timestamp, signature) refuses it on every replica for as long as
	// the signature would verify.
	if resp, ok := a.once(ctx, r); !ok {
		return resp
	}
	var auths []authorization
	if form.Get("is_enterprise_install") == "true" {
		auths = append(auths, authorization{EnterpriseID: form.Get("enterprise_id"), IsEnterpriseInstall: true})
	}
	inst, resp, ok := a.route(ctx, team, form.Get("enterprise_id"), auths, false)
	if !ok {
		if resp.Status == http.StatusOK {
			return jsonResp(http.StatusOK, map[string]string{"response_type": "ephemeral", "text": "Rampart is not installed in this workspace."})
		}
		return resp
	}
	cmd, ok := parseCommand(text)
	if !ok {
		return jsonResp(http.StatusOK, map[string]string{"response_type": "ephemeral", "text": usage(form.Get("command"))})
	}
	j := job{tenant: inst.TenantID, team: inst.TeamID, responseURL: respURL, cmd: cmd,
		ev: event{Type: "command", User: form.Get("user_id"), Channel: form.Get("channel_id"), Text: cmd.arg}}
	if !a.enqueue(j) {
		return errResp(http.StatusServiceUnavailable, "busy, retry later")
	}
	return jsonResp(http.StatusOK, map[string]string{"response_type": "ephemeral", "text": "Working on it…"})
}

// once records a verified request's timestamp and signature and refuses
// one already seen (409).
func (a *Adapter) once(ctx context.Context, r Request) (Response, bool) {
	ts := r.Header.Get(signature.HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil { // verify() accepted it: unreachable
		return errResp(http.StatusUnauthorized, "invalid Slack signature"), false
	}
	key := ts + ":" + strings.ToLower(r.Header.Get(signature.HeaderSignature))
	fresh, err := a.st.MarkSignature(ctx, key, time.Unix(sec, 0).Add(signature.MaxSkew+time.Second))
	if err != nil {
		a.log.ErrorContext(ctx, "replay store", "err", err)
		return errResp(http.StatusServiceUnavailable, "try again"), false
	}
	if !fresh {
		a.log.WarnContext(ctx, "replayed slack request refused", "path", r.Path)
		return errResp(http.StatusConflict, "replayed request: this signed request was already received"), false
	}
	return Response{}, true
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

// appCreds are the Slack app's credentials, sealed in the store.
type appCreds struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	SigningSecret string `json:"signing_secret"`
	// previousSigning still verify during a rotation's overlap (app from
	// settings only; never stored).
	previousSigning []string
}

var errNoApp = errors.New("slack app not configured")

// appAAD binds the sealed app credentials to their role.
const appAAD = "slack-app"

// appCredentials reads the operator's app record. It is read on every
// request (one indexed row, one AES-GCM open): every replica sees a new
// signing secret at once.
func (a *Adapter) appCredentials(ctx context.Context) (appCreds, error) {
	if a.appSet != nil {
		c := a.appSet.Credentials()
		return appCreds{ClientID: c.ClientID, ClientSecret: c.ClientSecret, SigningSecret: c.Signing[0], previousSigning: c.Signing[1:]}, nil
	}
	app, err := a.st.App(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return appCreds{}, errNoApp
	}
	if err != nil {
		return appCreds{}, err
	}
	plain, err := a.kr.Open(app.Sealed, appAAD)
	if err != nil {
		return appCreds{}, fmt.Errorf("slack app credentials: %w", err)
	}
	var c appCreds
	if err := json.Unmarshal(plain, &c); err != nil || c.SigningSecret == "" || c.ClientID == "" {
		return appCreds{}, errors.New("slack app credentials: not a credentials object")
	}
	return c, nil
}
