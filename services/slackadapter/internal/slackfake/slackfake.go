package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

// Post is one recorded chat.postMessage; TS is the ts the fake gave it.
type Post struct {
	Token, Channel, ThreadTS, TS, Text string
	// Blocks is the raw Block Kit JSON ("" when none).
	Blocks string
}

// Ephemeral is one recorded chat.postEphemeral: shown to User alone.
type Ephemeral struct {
	Token, Channel, User, ThreadTS, Text string
}

// Update is one recorded chat.update.
type Update struct {
	Token, Channel, TS, Text, Blocks string
}

// Response is one message posted to a response_url.
type Response struct {
	Text, ResponseType, Blocks string
}

// Message is a message of a thread as conversations.replies returns it.
type Message struct {
	User, BotID, Text, TS, ThreadTS string
}

// Token is one issued bot token.
type Token struct {
	Access, Refresh string
}

// Server is the fake.
type Server struct {
	// URL is the base URL; the Web API is URL + "/api/".
	URL string

	mu           sync.Mutex
	tokens       map[string]bool   // valid bot tokens
	refresh      map[string]string // refresh token → team
	codes        map[string]Grant  // OAuth code → grant
	clientID     string
	secret       string
	seq          int
	expiresIn    int
	throttle     int // remaining 429 answers
	throttleU    int // remaining 429 answers to chat.update
	retryAft     int
	posts        chan Post
	updates      chan Update
	responses    chan Response
	ephemeral    chan Ephemeral
	refreshed    int
	userInfos    int                  // users.info calls served
	threads      map[string][]Message // channel \x00 thread ts → messages
	admins       map[string]bool      // workspace admins (users.info)
	orgs         map[string]string    // user -> Enterprise Grid org (users.info enterprise_user)
	messages     map[string]bool      // channel \x00 ts of posted messages
	bots         map[string]string    // bot token → bot user id
	refused      []string             // error codes of messages refused by Check
	repliesCalls int
	failU        int // remaining chat.update calls answered failCode
	failCode     string
}

func (s *Server) refuse(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused = append(s.refused, code)
}

// Refused lists the error codes of the messages Slack's limits refused
// (Check), oldest first.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// FailUpdates makes the next n chat.update calls answer {"ok":false,
// "error":code} (a refusal the adapter cannot foresee).
func (s *Server) FailUpdates(n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failU, s.failCode = n, code
}

// Grant is what an OAuth code installs.
type Grant struct {
	TeamID, TeamName, EnterpriseID, BotUserID string
}

// Start serves the fake until the test ends. clientID/secret are the app's.
func Start(t testing.TB, clientID, clientSecret string) *Server {
	s := &Server{tokens: map[string]bool{}, refresh: map[string]string{}, codes: map[string]Grant{},
		clientID: clientID, secret: clientSecret, posts: make(chan Post, 100), updates: make(chan Update, 1000),
		responses: make(chan Response, 100), ephemeral: make(chan Ephemeral, 100), threads: map[string][]Message{}, admins: map[string]bool{},
		messages: map[string]bool{}, bots: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	mux.HandleFunc("POST /api/chat.postEphemeral", s.postEphemeral)
	mux.HandleFunc("POST /api/chat.update", s.update)
	mux.HandleFunc("POST /api/conversations.replies", s.replies)
	mux.HandleFunc("POST /api/users.info", s.userInfo)
	mux.HandleFunc("POST /api/oauth.v2.access", s.oauth)
	mux.HandleFunc("POST /hooks/", s.hook)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// AddCode registers an OAuth code.
func (s *Server) AddCode(code string, g Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = g
}

// Throttle makes the next n chat.postMessage calls answer 429 Retry-After.
func (s *Server) Throttle(n, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retryAft = n, retryAfterSeconds
}

// ThrottleUpdates makes the next n chat.update calls answer 429 with
// Retry-After retryAfterSeconds.
func (s *Server) ThrottleUpdates(n, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleU, s.retryAft = n, retryAfterSeconds
}

// Posts delivers recorded posts.
func (s *Server) Posts() <-chan Post { return s.posts }

// Responses delivers messages posted to response URLs.
func (s *Server) Responses() <-chan Response { return s.responses }

// Ephemerals delivers recorded chat.postEphemeral calls.
func (s *Server) Ephemerals() <-chan Ephemeral { return s.ephemeral }

// Updates delivers recorded chat.update calls.
func (s *Server) Updates() <-chan Update { return s.updates }

// AddThreadMessage adds a user's message to the thread rooted at threadTS
// of channel (what conversations.replies returns, root first).
func (s *Server) AddThreadMessage(channel, threadTS string, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ThreadTS = threadTS
	k := channel + "\x00" + threadTS
	s.threads[k] = append(s.threads[k], m)
}

// SetOrg puts user in Enterprise Grid organisation org (users.info
// enterprise_user.enterprise_id).
func (s *Server) SetOrg(user, org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.orgs == nil {
		s.orgs = map[string]string{}
	}
	s.orgs[user] = org
}

// SetAdmin makes user a workspace admin (users.info is_admin).
func (s *Server) SetAdmin(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admins[user] = true
}

// Refreshed counts refresh-token grants served.
func (s *Server) Refreshed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshed
}

// UserInfoCalls counts users.info calls served.
func (s *Server) UserInfoCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userInfos
}

// Valid reports whether tok is a live bot token.
func (s *Server) Valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[tok]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Slack's limits on a message, counted in UTF-16 code units: see Check.
const (
	MaxTextLen        = 4000
	MaxBlocks         = 50
	MaxSectionTextLen = 3000
	MaxBlocksTextLen  = 12000
)

// Check is how Slack refuses a message (chat.postMessage, chat.update, a
// response_url) that breaks its limits, with its error code ("" when
// Slack takes it): no_text with neither text nor blocks; msg_too_long for
// a text field past MaxTextLen (Slack's documented 40,000 no longer
// holds: past about 4,000 it refuses); invalid_blocks for blocks that are
// not a JSON array, more than MaxBlocks, or a section text past
// MaxSectionTextLen (the Block Kit reference); msg_blocks_too_long past
// MaxBlocksTextLen of block text in all (undocumented, reported by Slack's
// SDK maintainers in slackapi/bolt-js#2509).
func Check(text, blocks string) string {
	if utf16Len(text) > MaxTextLen {
		return "msg_too_long"
	}
	if blocks == "" {
		if text == "" {
			return "no_text"
		}
		return ""
	}
	var bs []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil || len(bs) > MaxBlocks {
		return "invalid_blocks"
	}
	total := 0
	for _, b := range bs {
		if b.Text != nil {
			n := utf16Len(b.Text.Text)
			if b.Type == "section" && n > MaxSectionTextLen {
				return "invalid_blocks"
			}
			total += n
		}
		for _, e := range b.Elements {
			total += utf16Len(e.Text)
		}
	}
	if total > MaxBlocksTextLen {
		return "msg_blocks_too_long"
	}
	return ""
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	s.mu.Lock()
	// The token must come in the header, never in the form body.
	valid := ok && s.tokens[tok] && r.PostForm.Get("token") == ""
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	retry := s.retryAft
	s.mu.Unlock()
	if !valid {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	if throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if code := Check(r.PostForm.Get("text"), r.PostForm.Get("blocks")); code != "" {
		s.refuse(code)
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	s.mu.Lock()
	s.seq++
	p := Post{Token: tok, Channel: r.PostForm.Get("channel"), ThreadTS: r.PostForm.Get("thread_ts"),
		TS: "1800000000." + fmt.Sprintf("%06d", s.seq), Text: r.PostForm.Get("text"), Blocks: r.PostForm.Get("blocks")}
	s.messages[p.Channel+"\x00"+p.TS] = true
	if p.ThreadTS != "" {
		k := p.Channel + "\x00" + p.ThreadTS
		s.threads[k] = append(s.threads[k], Message{BotID: "B1", User: s.bots[tok], Text: p.Text, TS: p.TS, ThreadTS: p.ThreadTS})
	}
	s.mu.Unlock()
	s.posts <- p
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": p.TS})
}

// auth checks the bearer token (never a form field) and parses the form.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := r.ParseForm(); err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return "", false
	}
	s.mu.Lock()
	valid := ok && s.tokens[tok] && r.PostForm.Get("token") == ""
	s.mu.Unlock()
	if !valid {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return "", false
	}
	return tok, true
}

func (s *Server) postEphemeral(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.auth(w, r)
	if !ok {
		return
	}
	e := Ephemeral{Token: tok, Channel: r.PostForm.Get("channel"), User: r.PostForm.Get("user"), ThreadTS: r.PostForm.Get("thread_ts"),
		Text: r.PostForm.Get("text")}
	if e.Channel == "" || e.User == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	s.ephemeral <- e
	writeJSON(w, map[string]any{"ok": true, "message_ts": "1800000000.999999"})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	tok, ok := s.auth(w, r)
	if !ok {
		return
	}
	u := Update{Token: tok, Channel: r.PostForm.Get("channel"), TS: r.PostForm.Get("ts"), Text: r.PostForm.Get("text"), Blocks: r.PostForm.Get("blocks")}
	s.mu.Lock()
	if s.throttleU > 0 {
		s.throttleU--
		retry := s.retryAft
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		w.WriteHeader(http.StatusTooManyRequests)
		writeJSON(w, map[string]any{"ok": false, "error": "ratelimited"})
		return
	}
	if s.failU > 0 {
		s.failU--
		code := s.failCode
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	known := s.messages[u.Channel+"\x00"+u.TS]
	if code := Check(u.Text, u.Blocks); known && code != "" {
		s.refused = append(s.refused, code)
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	if known && u.Text != "" {
		// The thread shows the message's current text, as Slack does.
		for k, msgs := range s.threads {
			for i := range msgs {
				if msgs[i].TS == u.TS && strings.HasPrefix(k, u.Channel+"\x00") {
					msgs[i].Text = u.Text
				}
			}
		}
	}
	s.mu.Unlock()
	if !known {
		writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
		return
	}
	s.updates <- u
	writeJSON(w, map[string]any{"ok": true, "channel": u.Channel, "ts": u.TS, "text": u.Text})
}

func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.auth(w, r); !ok {
		return
	}
	s.mu.Lock()
	msgs := append([]Message{}, s.threads[r.PostForm.Get("channel")+"\x00"+r.PostForm.Get("ts")]...)
	s.repliesCalls++
	s.mu.Unlock()
	// Cursor pagination as Slack's: earliest first, limit a page (Slack
	// caps it below 1,000), the next page's cursor in
	// response_metadata.next_cursor while has_more.
	limit, err := strconv.Atoi(r.PostForm.Get("limit"))
	if err != nil || limit <= 0 || limit > 999 {
		limit = 999
	}
	from := 0
	if c := r.PostForm.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "cur_"))
		if err != nil || n < 0 || n > len(msgs) {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
		from = n
	}
	to := min(from+limit, len(msgs))
	out := make([]map[string]any, 0, to-from)
	for _, m := range msgs[from:to] {
		o := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "thread_ts": m.ThreadTS}
		if m.User != "" {
			o["user"] = m.User
		}
		if m.BotID != "" {
			o["bot_id"] = m.BotID
		}
		out = append(out, o)
	}
	resp := map[string]any{"ok": true, "messages": out, "has_more": to < len(msgs)}
	if to < len(msgs) {
		resp["response_metadata"] = map[string]any{"next_cursor": "cur_" + strconv.Itoa(to)}
	}
	writeJSON(w, resp)
}

// RepliesCalls counts conversations.replies calls served (pages).
func (s *Server) RepliesCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repliesCalls
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.auth(w, r); !ok {
		return
	}
	user := r.PostForm.Get("user")
	s.mu.Lock()
	s.userInfos++
	admin, org := s.admins[user], s.orgs[user]
	s.mu.Unlock()
	u := map[string]any{"id": user, "name": strings.ToLower(user), "is_admin": admin}
	if org != "" {
		u["enterprise_user"] = map[string]any{"id": user, "enterprise_id": org, "enterprise_name": org}
	}
	writeJSON(w, map[string]any{"ok": true, "user": u})
}

func (s *Server) issue(team string) (string, string) {
	s.seq++
	access := "xoxb-" + team + "-CANARY-" + strconv.Itoa(s.seq) + "-9f8e7d6c5b4a"
	refresh := "xoxe-1-" + team + "-" + strconv.Itoa(s.seq)
	s.tokens[access] = true
	s.refresh[refresh] = team
	return access, refresh
}

func (s *Server) oauth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.clientID || secret != s.secret {
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_client_id"})
		return
	}
	resp := map[string]any{"ok": true, "token_type": "bot", "scope": "chat:write", "app_id": "A1"}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		team, ok := s.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_refresh_token"})
			return
		}
		delete(s.refresh, r.PostForm.Get("refresh_token"))
		// The old access token stops working at rotation.
		for tok := range s.tokens {
			if strings.HasPrefix(tok, "xoxb-"+team+"-") {
				delete(s.tokens, tok)
			}
		}
		s.refreshed++
		resp["access_token"], resp["refresh_token"] = s.issue(team)
		resp["team"] = map[string]string{"id": team}
	} else {
		g, ok := s.codes[r.PostForm.Get("code")]
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_code"})
			return
		}
		delete(s.codes, r.PostForm.Get("code"))
		access, refresh := s.issue(g.TeamID)
		resp["access_token"], resp["refresh_token"] = access, refresh
		s.bots[access] = g.BotUserID
		resp["team"] = map[string]string{"id": g.TeamID, "name": g.TeamName}
		resp["enterprise"] = map[string]string{"id": g.EnterpriseID}
		resp["bot_user_id"] = g.BotUserID
	}
	if s.expiresIn > 0 {
		resp["expires_in"] = s.expiresIn
	}
	writeJSON(w, resp)
}

func (s *Server) hook(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Text         string          `json:"text"`
		ResponseType string          `json:"response_type"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	blocks := string(m.Blocks)
	if blocks == "null" {
		blocks = ""
	}
	if code := Check(m.Text, blocks); code != "" {
		// Like an incoming webhook: the status and the code as the body.
		s.refuse(code)
		http.Error(w, code, http.StatusBadRequest)
		return
	}
	s.responses <- Response{Text: m.Text, ResponseType: m.ResponseType, Blocks: string(m.Blocks)}
	_, _ = w.Write([]byte("ok"))
}

// SetExpiresIn makes issued tokens expire (token rotation) after sec seconds.
func (s *Server) SetExpiresIn(sec int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = sec
}
