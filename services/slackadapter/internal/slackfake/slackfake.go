package slackfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Post is one recorded chat.postMessage.
type Post struct {
	Token, Channel, ThreadTS, Text string
}

// Token is one issued bot token.
type Token struct {
	Access, Refresh string
}

// Server is the fake.
type Server struct {
	// URL is the base URL; the Web API is URL + "/api/".
	URL string

	mu        sync.Mutex
	tokens    map[string]bool   // valid bot tokens
	refresh   map[string]string // refresh token → team
	codes     map[string]Grant  // OAuth code → grant
	clientID  string
	secret    string
	seq       int
	expiresIn int
	throttle  int // remaining 429 answers
	retryAft  int
	posts     chan Post
	responses chan string
	refreshed int
}

// Grant is what an OAuth code installs.
type Grant struct {
	TeamID, TeamName, EnterpriseID, BotUserID string
}

// Start serves the fake until the test ends. clientID/secret are the app's.
func Start(t testing.TB, clientID, clientSecret string) *Server {
	s := &Server{tokens: map[string]bool{}, refresh: map[string]string{}, codes: map[string]Grant{},
		clientID: clientID, secret: clientSecret, posts: make(chan Post, 100), responses: make(chan string, 100)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
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

// Posts delivers recorded posts.
func (s *Server) Posts() <-chan Post { return s.posts }

// Responses delivers texts posted to response URLs.
func (s *Server) Responses() <-chan string { return s.responses }

// Refreshed counts refresh-token grants served.
func (s *Server) Refreshed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshed
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
	p := Post{Token: tok, Channel: r.PostForm.Get("channel"), ThreadTS: r.PostForm.Get("thread_ts"), Text: r.PostForm.Get("text")}
	s.posts <- p
	writeJSON(w, map[string]any{"ok": true, "channel": p.Channel, "ts": "1700000000.000200"})
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
		resp["access_token"], resp["refresh_token"] = s.issue(g.TeamID)
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
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	s.responses <- m.Text
	_, _ = w.Write([]byte("ok"))
}

// SetExpiresIn makes issued tokens expire (token rotation) after sec seconds.
func (s *Server) SetExpiresIn(sec int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = sec
}
