package server_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
)

// fakeProvider is an OAuth2 provider with PKCE (S256), refresh, RFC 7009
// revocation and one protected document.
type fakeProvider struct {
	*httptest.Server
	mu         sync.Mutex
	challenges map[string]string // code → PKCE challenge
	access     map[string]bool   // valid access tokens
	refresh    map[string]bool   // valid refresh tokens
	revoked    []string
	n          int
	// reuseCodes makes the provider accept an authorization code more than
	// once, so a test sees what Rampart itself allows (a real provider
	// should refuse, but Rampart must not rely on it).
	reuseCodes bool
}

const (
	clientSecret = "client-secret-canary-51e0"
	tokenPrefix  = "tok-canary-"
)

func newProvider(t *testing.T) *fakeProvider {
	p := &fakeProvider{challenges: map[string]string{}, access: map[string]bool{}, refresh: map[string]bool{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *fakeProvider) issue(w http.ResponseWriter) {
	p.n++
	letter := "abcdefghijklmnopqrstuvwxyz"[p.n%26 : p.n%26+1]
	at, rt := tokenPrefix+"access-"+letter, tokenPrefix+"refresh-"+letter
	p.access[at], p.refresh[rt] = true, true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": 3600})
}

func (p *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case "/token":
		_ = r.ParseForm()
		if user, pass, ok := r.BasicAuth(); !ok || user != "client-1" || pass != clientSecret {
			if r.PostForm.Get("client_secret") != clientSecret {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
		}
		switch r.PostForm.Get("grant_type") {
		case "authorization_code":
			ch, ok := p.challenges[r.PostForm.Get("code")]
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
				return
			}
			if !p.reuseCodes {
				delete(p.challenges, r.PostForm.Get("code"))
			}
			p.issue(w)
		case "refresh_token":
			if !p.refresh[r.PostForm.Get("refresh_token")] {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
				return
			}
			p.issue(w)
		default:
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		}
	case "/revoke":
		_ = r.ParseForm()
		tok := r.PostForm.Get("token")
		p.revoked = append(p.revoked, tok)
		delete(p.refresh, tok)
		for a := range p.access {
			delete(p.access, a) // revoking the grant kills its access tokens
		}
	case "/doc":
		if !p.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("The connected wiki says the quarterly offsite is in Lisbon."))
	default:
		http.NotFound(w, r)
	}
}

// consent plays the user approving the authorization URL: the provider
// binds a code to the request's PKCE challenge.
func (p *fakeProvider) consent(t *testing.T, authURL string) (state, code string) {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Equal(t, "client-1", q.Get("client_id"))
	require.Equal(t, "code", q.Get("response_type"))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.challenges["code-123"] = q.Get("code_challenge")
	return q.Get("state"), "code-123"
}

// consentWith binds code to the authorization request (like consent, with
// a chosen code).
func (p *fakeProvider) consentWith(t *testing.T, authURL, code string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.challenges[code] = u.Query().Get("code_challenge")
	return u.Query().Get("state")
}

func (p *fakeProvider) expireAccessTokens() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.access)
}

// TestOAuthConnection: authorization code + PKCE, tokens only in keyvault,
// ingestion through the connection with a refresh after the provider
// expired the access token, and disconnect: revoke, delete tokens, purge.
func TestOAuthConnection(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)

	cr, err := c.CreateConnection(ctx, &ingestionv1.CreateConnectionRequest{
		Name: "Wiki", AuthorizationEndpoint: p.URL + "/authorize", TokenEndpoint: p.URL + "/token", RevocationEndpoint: p.URL + "/revoke",
		ClientId: "client-1", ClientSecret: clientSecret, Scopes: []string{"read"}, RedirectUri: "https://rampart.example/oauth/callback",
	})
	require.NoError(t, err)
	conn := cr.GetConnection()
	require.Equal(t, ingestionv1.ConnectionState_CONNECTION_STATE_PENDING, conn.GetState())
	secretName := "/dev/ingestion/oauth/" + conn.GetId()
	v, ok := h.kv.Value("tenant-a", secretName)
	require.True(t, ok)
	require.Contains(t, v, clientSecret, "the client secret lives in keyvault")

	state, code := p.consent(t, cr.GetAuthorizationUrl())
	_, err = c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: conn.GetId(), State: state + "x", Code: code})
	requireCode(t, err, codes.InvalidArgument, "state")
	_, err = c.CompleteConnection(h.ctx(t, "tenant-b"), &ingestionv1.CompleteConnectionRequest{ConnectionId: conn.GetId(), State: state, Code: code})
	requireCode(t, err, codes.NotFound)
	done, err := c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: conn.GetId(), State: state, Code: code})
	require.NoError(t, err)
	require.Equal(t, ingestionv1.ConnectionState_CONNECTION_STATE_CONNECTED, done.GetConnection().GetState())
	_, err = c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: conn.GetId(), State: state, Code: code})
	requireCode(t, err, codes.FailedPrecondition, "already connected")
	v, _ = h.kv.Value("tenant-a", secretName)
	require.Contains(t, v, tokenPrefix+"refresh-", "tokens live in keyvault")

	ingest := func(tenant string) (*ingestionv1.IngestDocumentResponse, error) {
		return c.IngestDocument(h.ctx(t, tenant), &ingestionv1.IngestDocumentRequest{
			Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: p.URL + "/doc"}, ConnectionId: conn.GetId(),
		})
	}
	_, err = ingest("tenant-b")
	requireCode(t, err, codes.NotFound)
	p.expireAccessTokens() // the provider drops the access token: one refresh, then the fetch
	r, err := ingest("tenant-a")
	require.NoError(t, err)
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))
	res, err := c.Search(ctx, &ingestionv1.SearchRequest{Collection: "wiki", Query: "where is the offsite"})
	require.NoError(t, err)
	require.Contains(t, res.GetPassages()[0].GetText(), "Lisbon")
	require.Equal(t, p.URL+"/doc", res.GetPassages()[0].GetUrl(), "a fetched document cites its URL")
	v, _ = h.kv.Value("tenant-a", secretName)
	require.Contains(t, v, tokenPrefix+"access-c", "the refreshed token was saved")

	list, err := c.ListConnections(ctx, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetConnections(), 1)
	list, err = c.ListConnections(h.ctx(t, "tenant-b"), &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetConnections())

	_, err = c.DeleteConnection(h.ctx(t, "tenant-b"), &ingestionv1.DeleteConnectionRequest{ConnectionId: conn.GetId()})
	requireCode(t, err, codes.NotFound)
	del, err := c.DeleteConnection(ctx, &ingestionv1.DeleteConnectionRequest{ConnectionId: conn.GetId(), PurgeDocuments: true})
	require.NoError(t, err)
	require.True(t, del.GetRevoked())
	require.EqualValues(t, 1, del.GetDocumentsDeleted())
	require.Equal(t, []string{tokenPrefix + "refresh-c"}, p.revoked)
	_, ok = h.kv.Value("tenant-a", secretName)
	require.False(t, ok, "tokens deleted from keyvault")
	res, err = c.Search(ctx, &ingestionv1.SearchRequest{Collection: "wiki", Query: "offsite Lisbon"})
	require.NoError(t, err)
	require.Empty(t, res.GetPassages(), "documents purged")
	_, err = ingest("tenant-a")
	requireCode(t, err, codes.NotFound)

	h.shutdown()
	for _, needle := range []string{clientSecret, tokenPrefix, "code-123"} {
		require.Empty(t, scan(t, h.dataDir, needle), "%s at rest", needle)
		require.NotContains(t, h.logs.String(), needle)
	}
}

// TestOAuthStateSingleUse: the state is spent by the first completion that
// presents it, also when the token exchange then fails, and of concurrent
// completions with the same state (and a provider that would accept the
// code twice) exactly one connects.
func TestOAuthStateSingleUse(t *testing.T) {
	p := newProvider(t)
	p.reuseCodes = true
	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	create := func() *ingestionv1.CreateConnectionResponse {
		cr, err := c.CreateConnection(ctx, &ingestionv1.CreateConnectionRequest{
			Name: "Wiki", AuthorizationEndpoint: p.URL + "/authorize", TokenEndpoint: p.URL + "/token",
			ClientId: "client-1", ClientSecret: clientSecret, RedirectUri: "https://rampart.example/oauth/callback",
		})
		require.NoError(t, err)
		return cr
	}

	t.Run("failed exchange spends the state", func(t *testing.T) {
		cr := create()
		id := cr.GetConnection().GetId()
		state := p.consentWith(t, cr.GetAuthorizationUrl(), "good-code")
		_, err := c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: id, State: state, Code: "code-the-provider-never-issued"})
		requireCode(t, err, codes.FailedPrecondition, "token exchange failed", "HTTP 400")
		_, err = c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: id, State: state, Code: "good-code"})
		requireCode(t, err, codes.FailedPrecondition, "already used")
		list, err := c.ListConnections(ctx, &ingestionv1.ListConnectionsRequest{})
		require.NoError(t, err)
		for _, got := range list.GetConnections() {
			if got.GetId() == id {
				require.Equal(t, ingestionv1.ConnectionState_CONNECTION_STATE_PENDING, got.GetState())
			}
		}
	})

	t.Run("wrong state spends nothing", func(t *testing.T) {
		cr := create()
		id := cr.GetConnection().GetId()
		state := p.consentWith(t, cr.GetAuthorizationUrl(), "code-w")
		_, err := c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: id, State: "guess", Code: "code-w"})
		requireCode(t, err, codes.InvalidArgument, "state")
		_, err = c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: id, State: state, Code: "code-w"})
		require.NoError(t, err)
	})

	t.Run("concurrent double use connects once", func(t *testing.T) {
		cr := create()
		id := cr.GetConnection().GetId()
		state := p.consentWith(t, cr.GetAuthorizationUrl(), "code-c")
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: id, State: state, Code: "code-c"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
				continue
			}
			requireCode(t, err, codes.FailedPrecondition)
		}
		require.Equal(t, 1, ok, "exactly one completion wins")
	})
}

func TestConnectionValidation(t *testing.T) {
	h := newHarness(t, opts{})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	base := func() *ingestionv1.CreateConnectionRequest {
		return &ingestionv1.CreateConnectionRequest{
			Name: "x", AuthorizationEndpoint: "https://idp.example/authorize", TokenEndpoint: "https://idp.example/token",
			ClientId: "c", RedirectUri: "https://rampart.example/cb",
		}
	}
	for _, tc := range []struct {
		field  string
		mutate func(r *ingestionv1.CreateConnectionRequest)
	}{
		{"name", func(r *ingestionv1.CreateConnectionRequest) { r.Name = "" }},
		{"client_id", func(r *ingestionv1.CreateConnectionRequest) { r.ClientId = "" }},
		{"authorization_endpoint", func(r *ingestionv1.CreateConnectionRequest) { r.AuthorizationEndpoint = "http://idp.example/a" }},
		{"token_endpoint", func(r *ingestionv1.CreateConnectionRequest) { r.TokenEndpoint = "ftp://idp.example/t" }},
		{"redirect_uri", func(r *ingestionv1.CreateConnectionRequest) { r.RedirectUri = "/cb" }},
		{"scopes", func(r *ingestionv1.CreateConnectionRequest) { r.Scopes = []string{"a b"} }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := base()
			tc.mutate(r)
			_, err := c.CreateConnection(ctx, r)
			requireCode(t, err, codes.InvalidArgument, tc.field)
		})
	}
	_, err := c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{Collection: "x", Input: &ingestionv1.IngestDocumentRequest_Url{Url: "https://a.example/"}, ConnectionId: "con_x", AccessToken: "t"})
	requireCode(t, err, codes.InvalidArgument, "access_token")
}

// TestConnectionTokenOnlyReachesItsHosts: a connection's access token is
// sent only to the hosts the connection names (its resource_hosts, by
// default the host of its token endpoint). Any member
// with ingest:write can name any connection of the tenant in an
// IngestDocument; without this bound a URL on a host of her choosing
// received the token of a data source someone else connected (security
// review 2026-12-06 evening, ADR 0064).
func TestConnectionTokenOnlyReachesItsHosts(t *testing.T) {
	p := newProvider(t)
	var mu sync.Mutex
	var seen []string // Authorization headers the other host received
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("The API host's document mentions the Porto offsite."))
	}))
	t.Cleanup(other.Close)
	otherHost := strings.TrimPrefix(other.URL, "http://")

	h := newHarness(t, opts{allowPrivate: true})
	c := h.client(t, "edge")
	ctx := h.ctx(t, "tenant-a")
	_, err := c.CreateCollection(ctx, &ingestionv1.CreateCollectionRequest{Name: "wiki"})
	require.NoError(t, err)
	connectWith := func(authEndpoint string, hosts ...string) string {
		cr, err := c.CreateConnection(ctx, &ingestionv1.CreateConnectionRequest{
			Name: "Wiki", AuthorizationEndpoint: authEndpoint, TokenEndpoint: p.URL + "/token",
			ClientId: "client-1", ClientSecret: clientSecret, RedirectUri: "https://rampart.example/oauth/callback",
			ResourceHosts: hosts,
		})
		require.NoError(t, err)
		state, code := p.consent(t, cr.GetAuthorizationUrl())
		done, err := c.CompleteConnection(ctx, &ingestionv1.CompleteConnectionRequest{ConnectionId: cr.GetConnection().GetId(), State: state, Code: code})
		require.NoError(t, err)
		return done.GetConnection().GetId()
	}
	connect := func(hosts ...string) string { return connectWith(p.URL+"/authorize", hosts...) }
	ingest := func(conn, rawURL string) (*ingestionv1.IngestDocumentResponse, error) {
		return c.IngestDocument(ctx, &ingestionv1.IngestDocumentRequest{
			Collection: "wiki", Input: &ingestionv1.IngestDocumentRequest_Url{Url: rawURL}, ConnectionId: conn,
		})
	}

	byDefault := connect()
	_, err = ingest(byDefault, other.URL+"/steal")
	requireCode(t, err, codes.InvalidArgument, "url", "resource_hosts")
	// The authorization endpoint only sees the user's browser, never a
	// token: its host is not a default resource host.
	authElsewhere := connectWith(other.URL + "/authorize")
	_, err = ingest(authElsewhere, other.URL+"/steal")
	requireCode(t, err, codes.InvalidArgument, "url", "resource_hosts")
	r, err := ingest(byDefault, p.URL+"/doc")
	require.NoError(t, err, "the endpoints' host stays allowed")
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))

	named := connect(otherHost)
	list, err := c.ListConnections(ctx, &ingestionv1.ListConnectionsRequest{})
	require.NoError(t, err)
	for _, got := range list.GetConnections() {
		if got.GetId() == named {
			require.Equal(t, []string{otherHost}, got.GetResourceHosts())
		}
	}
	_, err = ingest(named, p.URL+"/doc")
	requireCode(t, err, codes.InvalidArgument, "url", "resource_hosts")
	r, err = ingest(named, other.URL+"/api/doc")
	require.NoError(t, err, "a named resource host gets the token")
	require.Equal(t, ingestionv1.JobState_JOB_STATE_SUCCEEDED, h.wait(t, r.GetJob().GetId()))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 1, "the refused fetch never reached the other host")
	require.True(t, strings.HasPrefix(seen[0], "Bearer "+tokenPrefix+"access-"), "the named host got the token")

	for _, hosts := range [][]string{{"https://api.example"}, {"api.example/path"}, {""}, {"user@api.example"}, {"api.example:0x50"}} {
		_, err := c.CreateConnection(ctx, &ingestionv1.CreateConnectionRequest{
			Name: "x", AuthorizationEndpoint: p.URL + "/authorize", TokenEndpoint: p.URL + "/token",
			ClientId: "client-1", RedirectUri: "https://rampart.example/cb", ResourceHosts: hosts,
		})
		requireCode(t, err, codes.InvalidArgument, "resource_hosts")
	}
}
