package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/keyring"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/store"
)

// botToken is the keyvault secret of one installation.
type botToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresAt    int64  `json:"expires_at,omitempty"` // Unix seconds; 0: does not expire
	BotUserID    string `json:"bot_user_id,omitempty"`
}

func (a *Adapter) botToken(ctx context.Context, inst store.Installation) (botToken, error) {
	raw, err := a.secret(ctx, inst.TenantID, inst.SecretName)
	if err != nil {
		return botToken{}, err
	}
	var t botToken
	if err := json.Unmarshal([]byte(raw), &t); err != nil || t.AccessToken == "" {
		return botToken{}, fmt.Errorf("secret %s: not a bot token object", inst.SecretName)
	}
	// Read as the active tenant: keep the notice token current (ADR 0137).
	a.keepNotice(ctx, inst, t)
	return t, nil
}

func (a *Adapter) redirectURI() string {
	return strings.TrimSuffix(a.cfg.PublicURL, "/") + "/slack/oauth/callback"
}

// SetApp stores the Slack app's credentials, sealed with the adapter's
// key-encryption key: the app is deployment configuration owned by the
// platform operator (the caller authorizes; see server.operator), not by
// any tenant, so no tenant's deletion or keyvault policy can affect it.
func (a *Adapter) SetApp(ctx context.Context, clientID, clientSecret, signingSecret string) (time.Time, error) {
	if a.appSet != nil {
		return time.Time{}, fmt.Errorf("the Slack app's credentials come from AWS (RAMPART_SLACK_CLIENT_ID, RAMPART_SLACK_CLIENT_SECRET, "+
			"RAMPART_SLACK_SIGNING_SECRET): change them there, the adapter reads them again within SLACK_SECRETS_REFRESH: %w", grpcerr.ErrFailedPrecondition)
	}
	for _, f := range []struct{ name, v string }{{"client_id", clientID}, {"client_secret", clientSecret}, {"signing_secret", signingSecret}} {
		if f.v == "" {
			return time.Time{}, grpcerr.Invalid(f.name, "required")
		}
		if len(f.v) > 256 || strings.TrimSpace(f.v) != f.v {
			return time.Time{}, grpcerr.Invalid(f.name, "at most 256 characters without surrounding spaces")
		}
	}
	val, _ := json.Marshal(appCreds{ClientID: clientID, ClientSecret: clientSecret, SigningSecret: signingSecret}) //nolint:gosec // G117: sealed, never logged
	sealed, err := a.kr.Seal(val, appAAD)
	if err != nil {
		return time.Time{}, err
	}
	now := a.now().Truncate(time.Second)
	if err := a.st.PutApp(ctx, store.App{ClientID: clientID, Sealed: sealed, UpdatedAt: now}); err != nil {
		return time.Time{}, err
	}
	a.log.InfoContext(ctx, "slack app credentials set by the operator", "client_id", clientID)
	return now, nil
}

// App returns the configured app's client id and update time (never a
// secret), or FailedPrecondition before the operator set it.
func (a *Adapter) App(ctx context.Context) (string, time.Time, error) {
	if a.appSet != nil {
		c := a.appSet.Credentials()
		return c.ClientID, c.UpdatedAt.Truncate(time.Second), nil
	}
	app, err := a.st.App(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, fmt.Errorf("no Slack app is configured (the platform operator runs `rampart slack app set`): %w", grpcerr.ErrFailedPrecondition)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return app.ClientID, app.UpdatedAt, nil
}

// InstallURL returns the install link (Rampart's start page, which goes on
// to Slack's "Add to Slack" page) with a state bound to the caller's
// tenant, and creates the tenant's adapter key if needed.
func (a *Adapter) InstallURL(ctx context.Context, c Caller) (string, time.Time, error) {
	if !c.admin() {
		return "", time.Time{}, fmt.Errorf("installing Slack needs role owner or admin and scope admin: %w", grpcerr.ErrPermissionDenied)
	}
	_, err := a.appCredentials(ctx)
	if errors.Is(err, errNoApp) {
		return "", time.Time{}, fmt.Errorf("no Slack app is configured (the platform operator runs `rampart slack app set`): %w", grpcerr.ErrFailedPrecondition)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("slack app credentials: %w", grpcerr.ErrUnavailable)
	}
	if err := a.ensureTenantKey(ctx, c.TenantID); err != nil {
		return "", time.Time{}, err
	}
	exp := a.now().Add(a.cfg.StateTTL).Truncate(time.Second)
	nonce := keyring.Nonce()
	// The state remembers the asking key: when auth revokes or changes it
	// (her demotion or removal), the link stops installing (ForgetKey).
	if err := a.st.PutState(ctx, nonce, c.TenantID, c.KeyID, exp); err != nil {
		return "", time.Time{}, err
	}
	// Rampart's start page, not Slack's: it binds the install to the
	// browser that opens it before sending it on to Slack (ADR 0069 §3).
	q := url.Values{"state": {a.kr.SignState(nonce, c.TenantID, exp)}}
	return strings.TrimSuffix(a.cfg.PublicURL, "/") + startPath + "?" + q.Encode(), exp, nil
}

// authorizeURL is Slack's "Add to Slack" page for state.
func (a *Adapter) authorizeURL(clientID, state string) string {
	q := url.Values{
		"client_id":    {clientID},
		"scope":        {strings.Join(a.cfg.BotScopes, ",")},
		"redirect_uri": {a.redirectURI()},
		"state":        {state},
	}
	return a.cfg.AuthorizeURL + "?" + q.Encode()
}

// slackErrorCode is the shape of an OAuth error code Slack sends back.
var slackErrorCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func htmlResp(status int, title, msg string) Response {
	body := "<!doctype html><meta charset=utf-8><title>" + html.EscapeString(title) + "</title><h1>" +
		html.EscapeString(title) + "</h1><p>" + html.EscapeString(msg) + "</p>\n"
	return Response{Status: status, ContentType: "text/html; charset=utf-8", Body: []byte(body)}
}

// callback completes an install: Slack redirects the admin's browser here
// with code and state.
func (a *Adapter) callback(ctx context.Context, r Request) Response {
	if r.Method != "" && r.Method != http.MethodGet {
		return errResp(http.StatusMethodNotAllowed, "method must be GET")
	}
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil {
		return htmlResp(http.StatusBadRequest, "Slack install failed", "Malformed query.")
	}
	if e := q.Get("error"); e != "" {
		// Anyone can send a browser here with any text: only an error code
		// of Slack's shape (access_denied) is repeated on Rampart's page.
		msg := "Slack did not say why."
		if slackErrorCode.MatchString(e) {
			msg = "Slack said: " + e
		}
		return htmlResp(http.StatusBadRequest, "Slack install cancelled", msg)
	}
	code, state := q.Get("code"), q.Get("state")
	if code == "" || len(code) > 512 {
		return htmlResp(http.StatusBadRequest, "Slack install failed", "code: required.")
	}
	tenant, failed, ok := a.takeState(ctx, state, r.Header)
	if !ok {
		return failed
	}
	creds, err := a.appCredentials(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "slack app credentials unavailable", "err", err)
		return htmlResp(http.StatusServiceUnavailable, "Slack install failed", "The Slack app is not available; try again.")
	}
	resp, err := a.slack.Exchange(ctx, creds.ClientID, creds.ClientSecret, code, a.redirectURI())
	if err != nil {
		a.log.WarnContext(ctx, "oauth.v2.access failed", "err", err)
		return htmlResp(http.StatusBadGateway, "Slack install failed", "Slack refused the install code; start again.")
	}
	team := resp.Team.ID
	if resp.IsEnterpriseInstall || team == "" {
		team = resp.Enterprise.ID
	}
	if team == "" || resp.AccessToken == "" {
		return htmlResp(http.StatusBadGateway, "Slack install failed", "Slack's answer had no team or token.")
	}
	now := a.now()
	tok := botToken{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, BotUserID: resp.BotUserID}
	var exp time.Time
	if resp.ExpiresIn > 0 {
		exp = now.Add(time.Duration(resp.ExpiresIn) * time.Second)
		tok.ExpiresAt = exp.Unix()
	}
	if prev, err := a.st.InstallationByTeam(ctx, team, ""); err == nil && prev.TenantID != tenant && !prev.Disabled() {
		return htmlResp(http.StatusConflict, "Slack install refused", "This workspace is already connected to another Rampart tenant.")
	}
	inst := store.Installation{TeamID: team, EnterpriseID: resp.Enterprise.ID, TenantID: tenant,
		TeamName: resp.Team.Name, BotUserID: resp.BotUserID, SecretName: a.secretName("bot-token", team), TokenExpiresAt: exp, InstalledAt: now}
	if failed, ok := a.saveInstall(ctx, inst, tok); !ok {
		return failed
	}
	a.log.InfoContext(ctx, "slack workspace installed", "tenant_id", tenant, "team_id", team)
	// Name the tenant: an admin lured into someone else's install link
	// sees whose tenant the workspace just joined (and can uninstall).
	return htmlResp(http.StatusOK, "Rampart is installed in Slack", "Slack workspace "+team+" is now connected to Rampart tenant "+tenant+
		". If you did not expect this tenant, remove the app from the workspace. You can close this window and mention the bot in Slack.")
}

// saveInstall stores an install's bot token in keyvault and records the
// installation, under the team's token lease (a revoked token's deletion
// must not remove the new one), then keeps its notice token (ADR 0137).
func (a *Adapter) saveInstall(ctx context.Context, inst store.Installation, tok botToken) (Response, bool) {
	release, ok := a.holdTokenLease(ctx, inst.TeamID)
	if !ok {
		return htmlResp(http.StatusServiceUnavailable, "Slack install failed", "The workspace's token is being updated; try again in a minute."), false
	}
	defer release()
	val, _ := json.Marshal(tok) //nolint:gosec // G117: serialised only into keyvault, never logged
	if err := a.putSecret(ctx, inst.TenantID, inst.SecretName, string(val)); err != nil {
		a.log.ErrorContext(ctx, "store bot token", "err", err)
		return htmlResp(http.StatusServiceUnavailable, "Slack install failed", "Could not store the workspace's token; try again."), false
	}
	err := a.st.SaveInstallation(ctx, inst)
	if errors.Is(err, store.ErrTeamTaken) {
		return htmlResp(http.StatusConflict, "Slack install refused", "This workspace is already connected to another Rampart tenant."), false
	}
	if err != nil {
		a.log.ErrorContext(ctx, "save installation", "err", err)
		return htmlResp(http.StatusServiceUnavailable, "Slack install failed", "Could not record the install; try again."), false
	}
	a.forgetNotice(inst.TeamID)
	a.keepNotice(ctx, inst, tok)
	return Response{}, true
}

// holdTokenLease takes team's token lease for an install, waiting up to
// two seconds for a refresh or deletion holding it (one keyvault call).
func (a *Adapter) holdTokenLease(ctx context.Context, team string) (release func(), ok bool) {
	lease, holder := tokenLease(team), newHolder()
	for range 20 {
		got, err := a.st.TryLease(ctx, lease, holder, a.now(), RefreshLease)
		if err != nil {
			a.log.ErrorContext(ctx, "token lease", "err", err)
			return nil, false
		}
		if got {
			return func() {
				if err := a.st.ReleaseLease(context.WithoutCancel(ctx), lease, holder); err != nil {
					a.log.WarnContext(ctx, "release token lease (it expires anyway)", "team_id", team, "err", err)
				}
			}, true
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, false
}

// takeState checks the install link's state and consumes it (single use),
// returning the tenant that asked for the install, or the page to answer
// with when the state is bad.
func (a *Adapter) takeState(ctx context.Context, state string, hdr http.Header) (tenant string, failed Response, ok bool) {
	nonce, _, err := keyring.ParseState(state, a.now())
	if err != nil {
		return "", htmlResp(http.StatusBadRequest, "Slack install failed", "The install link is invalid or expired; start again from Rampart."), false
	}
	// Only the browser that opened the install link completes it; checked
	// before the state is consumed, so another browser cannot burn it.
	if !a.sameBrowser(hdr, nonce) {
		return "", htmlResp(http.StatusBadRequest, "Slack install failed",
			"This install was not started in this browser (or its cookie expired); open the install link from Rampart again, in this browser."), false
	}
	// Check the MAC before consuming the nonce, so a forged state cannot
	// burn a real one; then consume it (single use).
	tenant, err = a.st.PeekState(ctx, nonce, a.now())
	if err == nil {
		err = a.kr.VerifyState(state, tenant)
	}
	if err == nil {
		var taken string
		taken, err = a.st.TakeState(ctx, nonce, a.now())
		if err == nil && taken != tenant {
			err = keyring.ErrState
		}
	}
	if err != nil {
		return "", htmlResp(http.StatusBadRequest, "Slack install failed", "The install link is invalid, expired or already used; start again from Rampart."), false
	}
	return tenant, Response{}, true
}

// Installations lists the caller's tenant's installations.
func (a *Adapter) Installations(ctx context.Context, c Caller) ([]store.Installation, error) {
	if c.TenantID == "" {
		return nil, grpcerr.ErrPermissionDenied
	}
	return a.st.ListInstallations(ctx, c.TenantID)
}

// RefreshTokens rotates every bot token expiring within RefreshBefore.
func (a *Adapter) RefreshTokens(ctx context.Context) error {
	before := a.now().Add(a.cfg.RefreshBefore)
	due, err := a.st.ExpiringInstallations(ctx, before)
	if err != nil || len(due) == 0 {
		return err
	}
	creds, err := a.appCredentials(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, inst := range due {
		if err := a.refreshLeased(ctx, creds, inst, before); err != nil {
			errs = append(errs, fmt.Errorf("team %s: %w", inst.TeamID, err))
		}
	}
	return errors.Join(errs...)
}

// RefreshLease bounds how long one replica may take to refresh a
// workspace's token before another may try (the holder died mid-refresh).
const RefreshLease = 5 * time.Minute

// refreshLeased refreshes one installation's token under the database
// lease "token-refresh:<team>", so of several replicas (or overlapping
// runs) exactly one refreshes: a Slack refresh token is single use, and a
// second refresh with it would fail or leave the other replica holding a
// revoked token. The holder is unique per attempt.
func (a *Adapter) refreshLeased(ctx context.Context, creds appCreds, inst store.Installation, before time.Time) error {
	lease, holder := tokenLease(inst.TeamID), newHolder()
	ok, err := a.st.TryLease(ctx, lease, holder, a.now(), RefreshLease)
	if err != nil {
		return err
	}
	if !ok {
		a.log.DebugContext(ctx, "another replica refreshes this workspace's token", "team_id", inst.TeamID)
		return nil
	}
	defer func() {
		if err := a.st.ReleaseLease(context.WithoutCancel(ctx), lease, holder); err != nil {
			a.log.WarnContext(ctx, "release token refresh lease (it expires anyway)", "team_id", inst.TeamID, "err", err)
		}
	}()
	// Listed before the lease was taken: another replica may have
	// refreshed it since (and released the lease).
	cur, err := a.st.InstallationByTeam(ctx, inst.TeamID, "")
	if err != nil {
		return err
	}
	if cur.TenantID != inst.TenantID || cur.Disabled() || cur.TokenExpiresAt.IsZero() || cur.TokenExpiresAt.After(before) {
		return nil
	}
	return a.refresh(ctx, creds, cur)
}

// tokenLease is the database lease of a team's bot token secret: whoever
// writes or deletes it (refresh, install, revoked-token deletion) holds it.
func tokenLease(team string) string { return "token-refresh:" + team }

func newHolder() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return host + "/" + hex.EncodeToString(b)
}

func (a *Adapter) refresh(ctx context.Context, creds appCreds, inst store.Installation) error {
	// Read fresh (not from the cache): the refresh token is single-use.
	a.secrets.Invalidate(withTenant(ctx, inst.TenantID), inst.SecretName, "")
	cur, err := a.botToken(ctx, inst)
	if err != nil {
		return err
	}
	if cur.RefreshToken == "" {
		return errors.New("no refresh token stored")
	}
	resp, err := a.slack.Refresh(ctx, creds.ClientID, creds.ClientSecret, cur.RefreshToken)
	if err != nil {
		return err
	}
	next := botToken{AccessToken: resp.AccessToken, RefreshToken: resp.RefreshToken, BotUserID: cur.BotUserID}
	if next.RefreshToken == "" {
		next.RefreshToken = cur.RefreshToken
	}
	var exp time.Time
	if resp.ExpiresIn > 0 {
		exp = a.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
		next.ExpiresAt = exp.Unix()
	}
	if next.AccessToken == "" {
		return errors.New("refresh answered without a token")
	}
	val, _ := json.Marshal(next) //nolint:gosec // G117: serialised only into keyvault, never logged
	if err := a.putSecret(ctx, inst.TenantID, inst.SecretName, string(val)); err != nil {
		return err
	}
	a.keepNotice(ctx, inst, next)
	return a.st.SetTokenExpiry(ctx, inst.TenantID, inst.TeamID, exp)
}
