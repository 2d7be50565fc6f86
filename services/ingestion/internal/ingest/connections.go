package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"

	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/services/ingestion/internal/fetch"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Secrets stores connection secrets in keyvault, for the tenant of the
// call in ctx.
type Secrets interface {
	Create(ctx context.Context, name string, value []byte) error
	Put(ctx context.Context, name string, value []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	Delete(ctx context.Context, name string) error
	// DeleteForTenant deletes the service's own secret name of tenant at
	// once with no caller's principal (keyvault's DeleteServiceSecret):
	// for a tenant that is not calling, such as the grant of a member who
	// left (ADR 0132 §1). An absent secret is no error.
	DeleteForTenant(ctx context.Context, tenant, name string) error
}

const kindVerifier = "pkce-verifier"

// ConnectionInput describes an OAuth2 data source.
type ConnectionInput struct {
	Name, AuthEndpoint, TokenEndpoint, RevocationEndpoint string
	ClientID, ClientSecret, RedirectURI                   string
	Scopes                                                []string
	// ResourceHosts bound where the access token goes (TokenHosts).
	ResourceHosts []string
}

// maxResourceHosts bounds ConnectionInput.ResourceHosts.
const maxResourceHosts = 16

// resourceHosts validates a connection's resource hosts and returns them
// lower-cased: each a host name or IP literal with an optional decimal
// port, nothing else (no scheme, user info, path or wildcard).
func resourceHosts(in []string) ([]string, error) {
	if len(in) > maxResourceHosts {
		return nil, grpcerr.Invalidf("resource_hosts", "at most %d hosts", maxResourceHosts)
	}
	out := make([]string, 0, len(in))
	for _, h := range in {
		u, err := url.Parse("https://" + h)
		if h == "" || len(h) > 253+6 || err != nil || u.Host != h || u.Hostname() == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(h, "*%") || !decimalPort(u.Port()) ||
			strings.HasSuffix(h, ":") {
			return nil, grpcerr.Invalid("resource_hosts", "each must be a host or host:port, without scheme or path")
		}
		out = append(out, strings.ToLower(h))
	}
	return out, nil
}

func decimalPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TokenHosts are the hosts c's access token may be sent to: its resource
// hosts, or else the host of its token endpoint (which already sees the
// grant: it gets the refresh token and the client secret; the
// authorization endpoint sees neither). Any member with ingest:write may
// name any of the tenant's connections in an IngestDocument, so without
// this bound the token of a data source someone else connected went to a
// URL of her choosing (ADR 0064).
func TokenHosts(c store.Connection) []string {
	if len(c.ResourceHosts) > 0 {
		return c.ResourceHosts
	}
	if u, err := url.Parse(c.TokenEndpoint); err == nil && u.Host != "" {
		return []string{strings.ToLower(u.Host)}
	}
	return nil
}

// tokenMayReach reports whether u is on one of hosts: an entry with a port
// matches that host and port, one without the host on the scheme's
// default port.
func tokenMayReach(hosts []string, u *url.URL) bool {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, h := range hosts {
		e, err := url.Parse("https://" + h)
		if err != nil {
			continue
		}
		ep := e.Port()
		if ep == "" {
			ep = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if strings.ToLower(e.Hostname()) == host && ep == port {
			return true
		}
	}
	return false
}

// Actor is the verified principal of a call on a connection: the key it
// presented, that key's subject and the subject's member record.
type Actor struct{ KeyID, Subject, MemberID string }

// CreatedBy is a connection's authorizer as the API shows it, auth's audit
// actor form "key:<key id>/<subject>"; "" when none is recorded.
func CreatedBy(c store.Connection) string {
	if c.CreatedBySubject == "" {
		return ""
	}
	return "key:" + c.CreatedByKey + "/" + c.CreatedBySubject
}

// mayUse checks that a connection's grant is used on behalf of the member
// who authorized it (ADR 0118). The grant is that member's — her Drive,
// her wiki account — so another member naming the connection would read,
// through Rampart, whatever her grant reaches on its resource hosts: a
// confused deputy. Any live key of her subject may use it (a rotation or a
// second key keeps her data source working); a tenant admin may only by
// minting a key for her subject, which auth audits. It holds no longer than
// she can call: a removed member has no keys, and one demoted below member
// or whose keys lost ingest:write is refused by the route; the same subject
// removed and added again is another member (its member id), which does
// not inherit the grant. A connection
// with no recorded authorizer (made before it was recorded) is refused:
// default deny, connect it again.
func mayUse(c store.Connection, a Actor, verb string) error {
	switch {
	case c.CreatedBySubject == "":
		return fmt.Errorf("%w: connection_id: the connection was made before Rampart recorded who authorized it; "+
			"delete it and connect the data source again", grpcerr.ErrFailedPrecondition)
	case a.Subject == "" || a.Subject != c.CreatedBySubject ||
		(c.CreatedByMember != "" && a.MemberID != c.CreatedByMember):
		return fmt.Errorf("%w: connection_id: the connection holds the data-source grant of the member who connected it; "+
			"only that member's keys may %s it (connect your own)", grpcerr.ErrPermissionDenied, verb)
	}
	return nil
}

// connSecret is the keyvault value of a connection.
type connSecret struct {
	ClientSecret string    `json:"client_secret,omitempty"`
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

func (s *Service) secretName(id string) string {
	return "/" + s.o.SecretEnv + "/ingestion/oauth/" + id
}

func (s *Service) checkEndpoint(field, raw string) error {
	u, err := fetch.Validate(raw)
	if err != nil {
		return grpcerr.Invalid(field, err.Error())
	}
	if u.Scheme != "https" && !s.o.Fetcher.AllowsPrivate() {
		return grpcerr.Invalid(field, "must be an https URL")
	}
	return nil
}

func oauthConfig(c store.Connection, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: secret, RedirectURL: c.RedirectURI, Scopes: c.Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: c.AuthEndpoint, TokenURL: c.TokenEndpoint},
	}
}

func (s *Service) requireSecrets() error {
	if s.o.Secrets == nil {
		return fmt.Errorf("%w: data-source connections need keyvault", grpcerr.ErrFailedPrecondition)
	}
	return nil
}

// CreateConnection registers a pending connection: the client secret goes
// to keyvault, the PKCE verifier is sealed, only the state's hash is kept.
// by, the verified principal of the call, is recorded as its authorizer.
func (s *Service) CreateConnection(ctx context.Context, tenant string, by Actor, in ConnectionInput) (store.Connection, string, error) {
	if err := s.requireSecrets(); err != nil {
		return store.Connection{}, "", err
	}
	if by.Subject == "" {
		return store.Connection{}, "", fmt.Errorf("%w: a connection needs a principal with a subject to record as its authorizer", grpcerr.ErrPermissionDenied)
	}
	switch {
	case in.Name == "" || len(in.Name) > 128:
		return store.Connection{}, "", grpcerr.Invalid("name", "must be 1-128 bytes")
	case in.ClientID == "" || len(in.ClientID) > 512:
		return store.Connection{}, "", grpcerr.Invalid("client_id", "must be 1-512 bytes")
	case len(in.ClientSecret) > 4096:
		return store.Connection{}, "", grpcerr.Invalid("client_secret", "must be at most 4096 bytes")
	case len(in.Scopes) > 64:
		return store.Connection{}, "", grpcerr.Invalid("scopes", "at most 64 scopes")
	}
	for _, sc := range in.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return store.Connection{}, "", grpcerr.Invalid("scopes", "each scope must be non-empty without spaces")
		}
	}
	if err := s.checkEndpoint("authorization_endpoint", in.AuthEndpoint); err != nil {
		return store.Connection{}, "", err
	}
	if err := s.checkEndpoint("token_endpoint", in.TokenEndpoint); err != nil {
		return store.Connection{}, "", err
	}
	if in.RevocationEndpoint != "" {
		if err := s.checkEndpoint("revocation_endpoint", in.RevocationEndpoint); err != nil {
			return store.Connection{}, "", err
		}
	}
	if u, err := url.Parse(in.RedirectURI); err != nil || !u.IsAbs() {
		return store.Connection{}, "", grpcerr.Invalid("redirect_uri", "must be an absolute URL")
	}
	hosts, err := resourceHosts(in.ResourceHosts)
	if err != nil {
		return store.Connection{}, "", err
	}
	key, err := s.o.Ring.Get(ctx, tenant, true)
	if err != nil {
		return store.Connection{}, "", err
	}
	c := store.Connection{
		Tenant: tenant, ID: newID("con_"), Name: in.Name, AuthEndpoint: in.AuthEndpoint, TokenEndpoint: in.TokenEndpoint,
		RevocationEndpoint: in.RevocationEndpoint, ClientID: in.ClientID, RedirectURI: in.RedirectURI, Scopes: in.Scopes,
		ResourceHosts: hosts, CreatedByKey: by.KeyID, CreatedBySubject: by.Subject, CreatedByMember: by.MemberID,
	}
	state := randomToken()
	verifier := oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(state))
	c.StateHash, c.Verifier = sum[:], key.Seal(kindVerifier, c.ID, []byte(verifier))
	val, _ := json.Marshal(connSecret{ClientSecret: in.ClientSecret}) //nolint:gosec // G117: this is the keyvault value, by design
	if err := s.o.Secrets.Create(ctx, s.secretName(c.ID), val); err != nil {
		return store.Connection{}, "", fmt.Errorf("store client secret: %w", err)
	}
	c, err = s.o.Store.CreateConnection(ctx, c)
	if err != nil {
		_ = s.o.Secrets.Delete(ctx, s.secretName(c.ID))
		return store.Connection{}, "", err
	}
	return c, oauthConfig(c, "").AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CompleteConnection exchanges the code (with the PKCE verifier) and keeps
// the tokens in keyvault. Only its authorizer's subject completes it: the
// grant signed in at the provider becomes hers to use.
func (s *Service) CompleteConnection(ctx context.Context, tenant string, by Actor, id, state, code string) (store.Connection, error) {
	if err := s.requireSecrets(); err != nil {
		return store.Connection{}, err
	}
	switch {
	case id == "":
		return store.Connection{}, grpcerr.Invalid("connection_id", "is required")
	case state == "":
		return store.Connection{}, grpcerr.Invalid("state", "is required")
	case code == "" || len(code) > 4096:
		return store.Connection{}, grpcerr.Invalid("code", "must be 1-4096 bytes")
	}
	c, err := s.o.Store.GetConnection(ctx, tenant, id)
	if err != nil {
		return store.Connection{}, notFound(err, "connection")
	}
	if err := mayUse(c, by, "complete"); err != nil {
		return store.Connection{}, err
	}
	if c.Status != store.ConnPending {
		return store.Connection{}, fmt.Errorf("%w: the connection is already connected", grpcerr.ErrFailedPrecondition)
	}
	// Everything that can fail for reasons of our own comes before the
	// state is consumed; from ConsumeState on, the state is spent whatever
	// the provider answers (a code or state seen once must not be
	// replayable, e.g. after a leaked redirect).
	key, err := s.key(ctx, tenant)
	if err != nil {
		return store.Connection{}, err
	}
	sec, err := s.readSecret(ctx, c.ID)
	if err != nil {
		return store.Connection{}, err
	}
	sum := sha256.Sum256([]byte(state))
	sealed, err := s.o.Store.ConsumeState(ctx, tenant, id, sum[:])
	switch {
	case errors.Is(err, store.ErrStateMismatch):
		return store.Connection{}, grpcerr.Invalid("state", "does not match this connection's authorization request")
	case errors.Is(err, store.ErrStateUsed):
		return store.Connection{}, fmt.Errorf("%w: this authorization request was already used; delete the connection and create it again to sign in anew", grpcerr.ErrFailedPrecondition)
	case errors.Is(err, store.ErrConnected):
		return store.Connection{}, fmt.Errorf("%w: the connection is already connected", grpcerr.ErrFailedPrecondition)
	case err != nil:
		return store.Connection{}, notFound(err, "connection")
	}
	verifier, err := key.Open(kindVerifier, c.ID, sealed)
	if err != nil {
		return store.Connection{}, err
	}
	tok, err := oauthConfig(c, sec.ClientSecret).Exchange(s.oauthCtx(ctx), code, oauth2.VerifierOption(string(verifier)))
	if err != nil {
		return store.Connection{}, tokenError("token exchange", err)
	}
	if err := s.writeToken(ctx, c.ID, sec, tok); err != nil {
		return store.Connection{}, err
	}
	if err := s.o.Store.MarkConnected(ctx, tenant, id); err != nil {
		return store.Connection{}, notFound(err, "connection")
	}
	c.Status, c.StateHash, c.Verifier = store.ConnConnected, nil, nil
	return c, nil
}

// oauthCtx makes golang.org/x/oauth2 use the SSRF-guarded client.
func (s *Service) oauthCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.o.Fetcher.Client())
}

// tokenError reports a failed token call by its HTTP status only: the
// provider's body may echo codes or tokens.
func tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Errorf("%w: %s failed: the provider answered HTTP %d", grpcerr.ErrFailedPrecondition, op, re.Response.StatusCode)
	}
	return fmt.Errorf("%w: %s failed: the provider could not be reached", grpcerr.ErrFailedPrecondition, op)
}

func (s *Service) readSecret(ctx context.Context, id string) (connSecret, error) {
	var sec connSecret
	b, err := s.o.Secrets.Get(ctx, s.secretName(id))
	if err != nil {
		return sec, fmt.Errorf("read connection secret: %w", err)
	}
	if err := json.Unmarshal(b, &sec); err != nil {
		return sec, errors.New("connection secret is not JSON")
	}
	return sec, nil
}

func (s *Service) writeToken(ctx context.Context, id string, sec connSecret, tok *oauth2.Token) error {
	sec.AccessToken, sec.TokenType, sec.Expiry = tok.AccessToken, tok.TokenType, tok.Expiry
	if tok.RefreshToken != "" {
		sec.RefreshToken = tok.RefreshToken
	}
	val, _ := json.Marshal(sec) //nolint:gosec // G117: this is the keyvault value, by design
	if err := s.o.Secrets.Put(ctx, s.secretName(id), val); err != nil {
		return fmt.Errorf("store connection tokens: %w", err)
	}
	return nil
}

// ListConnections lists the tenant's connections.
func (s *Service) ListConnections(ctx context.Context, tenant string) ([]store.Connection, error) {
	return s.o.Store.ListConnections(ctx, tenant)
}

// connToken returns a usable access token of a connected connection,
// refreshing it (and saving the new one) when it expired or force is set.
func (s *Service) connToken(ctx context.Context, tenant, id string, force bool) (string, error) {
	if err := s.requireSecrets(); err != nil {
		return "", err
	}
	c, err := s.o.Store.GetConnection(ctx, tenant, id)
	if err != nil {
		return "", notFound(err, "connection")
	}
	if c.Status != store.ConnConnected {
		return "", fmt.Errorf("%w: connection_id: the connection is not connected yet", grpcerr.ErrFailedPrecondition)
	}
	sec, err := s.readSecret(ctx, id)
	if err != nil {
		return "", err
	}
	tok := &oauth2.Token{AccessToken: sec.AccessToken, RefreshToken: sec.RefreshToken, TokenType: sec.TokenType, Expiry: sec.Expiry}
	if force {
		tok.Expiry = time.Unix(1, 0) // make the token source refresh
	}
	if tok.Valid() {
		return tok.AccessToken, nil
	}
	if tok.RefreshToken == "" {
		return "", fmt.Errorf("%w: the connection's token expired and cannot be refreshed; connect again", grpcerr.ErrFailedPrecondition)
	}
	nt, err := oauthConfig(c, sec.ClientSecret).TokenSource(s.oauthCtx(ctx), tok).Token()
	if err != nil {
		return "", tokenError("token refresh", err)
	}
	if err := s.writeToken(ctx, id, sec, nt); err != nil {
		return "", err
	}
	return nt.AccessToken, nil
}

// fetchWithConnection fetches rawURL with the connection's token,
// refreshing once after a 401, on behalf of by (its authorizer only).
func (s *Service) fetchWithConnection(ctx context.Context, tenant string, by Actor, id string, u *url.URL) (*fetch.Result, error) {
	c, err := s.o.Store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, notFound(err, "connection")
	}
	if err := mayUse(c, by, "ingest through"); err != nil {
		return nil, err
	}
	if hosts := TokenHosts(c); !tokenMayReach(hosts, u) {
		return nil, grpcerr.Invalidf("url", "the connection's token is sent only to its resource_hosts (%s)", strings.Join(hosts, ", "))
	}
	rawURL := u.String()
	tok, err := s.connToken(ctx, tenant, id, false)
	if err != nil {
		return nil, err
	}
	res, err := s.o.Fetcher.Get(ctx, rawURL, tok)
	var se *fetch.StatusError
	if errors.As(err, &se) && se.Code == http.StatusUnauthorized {
		if tok, err = s.connToken(ctx, tenant, id, true); err != nil {
			return nil, err
		}
		res, err = s.o.Fetcher.Get(ctx, rawURL, tok)
	}
	return res, err
}

// DeleteConnection revokes the connection's tokens at the provider (best
// effort), deletes them from keyvault, deletes the connection and, with
// purge, the documents ingested through it.
func (s *Service) DeleteConnection(ctx context.Context, tenant, id string, purge bool) (bool, int, error) {
	if err := s.requireSecrets(); err != nil {
		return false, 0, err
	}
	if id == "" {
		return false, 0, grpcerr.Invalid("connection_id", "is required")
	}
	c, err := s.o.Store.GetConnection(ctx, tenant, id)
	if err != nil {
		return false, 0, notFound(err, "connection")
	}
	revoked := false
	if sec, err := s.readSecret(ctx, id); err == nil && c.RevocationEndpoint != "" {
		revoked = s.revoke(ctx, c, sec)
	}
	if err := s.o.Secrets.Delete(ctx, s.secretName(id)); err != nil {
		return false, 0, fmt.Errorf("delete connection tokens: %w", err)
	}
	docs, err := s.o.Store.DeleteConnection(ctx, tenant, id, purge)
	if err != nil {
		return revoked, 0, notFound(err, "connection")
	}
	for _, d := range docs {
		s.o.Vectors.Invalidate(tenant, d.Collection)
		ids := make([]string, d.Chunks)
		for i := range ids {
			ids[i] = chunkID(d.ID, i)
		}
		if err := s.o.Lexical.Delete(tenant, d.Collection, ids); err != nil {
			return revoked, len(docs), err
		}
	}
	return revoked, len(docs), nil
}

// MemberLeft drops the data-source grants of a member removed from tenant
// or lowered to viewer (auth's tenant event, ADR 0132 §1): nobody may use
// them any more (only their authorizer's member record may, and she no
// longer writes or no longer exists), so their tokens are deleted from
// keyvault at once and the connections with them; the documents ingested
// through them stay. The provider is not asked to revoke the grant: that
// needs the token, which ingestion reads only with a caller's principal —
// the grant dies with its last token here (an access token's own expiry at
// the provider). A connection recorded without a member id (made through
// an auth from before member ids) is bound by subject and not matched
// here. Idempotent: a replayed event finds nothing left.
func (s *Service) MemberLeft(ctx context.Context, tenant, member string, readOnly bool) error {
	if s.o.Secrets == nil || member == "" {
		return nil
	}
	cs, err := s.o.Store.ListConnections(ctx, tenant)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.CreatedByMember != member {
			continue
		}
		if err := s.o.Secrets.DeleteForTenant(ctx, tenant, s.secretName(c.ID)); err != nil {
			if code := grpcerr.Code(err); code == codes.PermissionDenied || code == codes.Unimplemented {
				// A keyvault that does not offer the call (older than
				// ADR 0132, or an allow-list without it) will not later:
				// the connection stays listed, dormant, for a member to
				// delete, and the event stream goes on (purges behind
				// it must not wait).
				s.log.ErrorContext(ctx, "cannot delete the tokens of a connection whose authorizer left: delete it by hand",
					"tenant_id", tenant, "connection", c.ID, "member", member, "code", code.String())
				continue
			}
			return fmt.Errorf("delete the tokens of connection %s: %w", c.ID, err)
		}
		if _, err := s.o.Store.DeleteConnection(ctx, tenant, c.ID, false); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete connection %s: %w", c.ID, err)
		}
		why := "removed from the tenant"
		if readOnly {
			why = "lowered to viewer"
		}
		s.log.InfoContext(ctx, "data-source connection dropped: its authorizer left", "tenant_id", tenant,
			"connection", c.ID, "member", member, "why", why)
	}
	return nil
}

// revoke asks the provider to revoke the refresh token (which revokes the
// grant) or else the access token (RFC 7009).
func (s *Service) revoke(ctx context.Context, c store.Connection, sec connSecret) bool {
	tok, hint := sec.RefreshToken, "refresh_token"
	if tok == "" {
		tok, hint = sec.AccessToken, "access_token"
	}
	if tok == "" {
		return false
	}
	form := url.Values{"token": {tok}, "token_type_hint": {hint}}
	if sec.ClientSecret == "" {
		form.Set("client_id", c.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sec.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(sec.ClientSecret))
	}
	resp, err := s.o.Fetcher.Client().Do(req)
	if err != nil {
		s.log.WarnContext(ctx, "token revocation failed", "connection", c.ID)
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		s.log.WarnContext(ctx, "token revocation refused", "connection", c.ID, "status", resp.StatusCode)
		return false
	}
	return true
}
