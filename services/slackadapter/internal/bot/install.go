package bot

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/services/slackadapter/internal/keyring"
)

// startPath is the public page an install link opens: it binds the
// install to the browser and redirects to Slack.
const startPath = "/slack/oauth/start"

// installCookie is the cookie that binds an install to the browser that
// opened its link. On https the __Host- prefix keeps a sibling subdomain
// from planting one (Secure, Path=/, no Domain); plain http (the dev
// profile) cannot carry a Secure cookie, so it uses a plain name.
func (a *Adapter) installCookie() (name string, secure bool) {
	if strings.HasPrefix(a.cfg.PublicURL, "https://") {
		return "__Host-rampart_slack_install", true
	}
	return "rampart_slack_install", false
}

// startInstall answers GET /slack/oauth/start?state=…: for a live state it
// sets the install cookie (the MAC of the state's nonce, so it cannot be
// derived from the state) and redirects to Slack's authorize page. The
// state is not consumed here; the callback consumes it.
func (a *Adapter) startInstall(ctx context.Context, r Request) Response {
	if r.Method != "" && r.Method != http.MethodGet {
		return errResp(http.StatusMethodNotAllowed, "method must be GET")
	}
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil {
		return htmlResp(http.StatusBadRequest, "Slack install failed", "Malformed query.")
	}
	state := q.Get("state")
	nonce, exp, err := keyring.ParseState(state, a.now())
	if err == nil {
		var tenant string
		if tenant, err = a.st.PeekState(ctx, nonce, a.now()); err == nil {
			err = a.kr.VerifyState(state, tenant)
		}
	}
	if err != nil {
		return htmlResp(http.StatusBadRequest, "Slack install failed", "The install link is invalid, expired or already used; start again from Rampart.")
	}
	creds, err := a.appCredentials(ctx)
	if err != nil {
		if !errors.Is(err, errNoApp) {
			a.log.WarnContext(ctx, "slack app credentials unavailable", "err", err)
		}
		return htmlResp(http.StatusServiceUnavailable, "Slack install failed", "The Slack app is not available; try again.")
	}
	sec, _ := strconv.ParseInt(exp, 10, 64) // ParseState checked it
	maxAge := max(int(time.Unix(sec, 0).Sub(a.now()).Seconds()), 1)
	name, secure := a.installCookie()
	// Secure is false only for a plain-http PUBLIC_URL (the dev profile),
	// where a browser would drop a Secure cookie.
	c := &http.Cookie{Name: name, Value: a.kr.BrowserBinding(nonce), Path: "/", MaxAge: maxAge, //nolint:gosec // G124: see above
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	h := http.Header{}
	h.Set("Location", a.authorizeURL(creds.ClientID, state))
	h.Set("Set-Cookie", c.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return Response{Status: http.StatusSeeOther, ContentType: "text/html; charset=utf-8", Header: h,
		Body: []byte("<!doctype html><meta charset=utf-8><title>Add to Slack</title><p>Continuing to Slack…</p>\n")}
}

// sameBrowser reports whether the request carries the install cookie of
// nonce (SameSite=Lax cookies come along on Slack's top-level redirect).
func (a *Adapter) sameBrowser(hdr http.Header, nonce string) bool {
	name, _ := a.installCookie()
	c, err := (&http.Request{Header: hdr}).Cookie(name)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.kr.BrowserBinding(nonce))) == 1
}
