package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// openapiCheck validates the real requests and responses of the
// authorization matrix — every route of the permission table, called by
// every kind of principal — against the OpenAPI 3.1 document the edge
// serves (kin-openapi, with object schemas closed as in
// TestOpenAPIResponsesMatchTheDocument). Because the matrix is generated
// from the table, a new route is validated without anyone writing a case
// for it, and TestAuthorizationMatrix fails when a route of the table has
// no validated success response and error response (coverage), unless
// noSuccessExample says why a success cannot be had on the dev stack.
type openapiCheck struct {
	doc *openapi3.T
	mu  sync.Mutex
	// ok and failed count validated 2xx and 4xx/5xx responses per route.
	ok, failed map[string]int
}

// noSuccessExample lists the routes whose success the dev stack cannot
// produce for any principal of the matrix, with the reason. Their error
// responses are still validated; their success schema is checked by the
// route-specific tests named.
var noSuccessExample = map[string]string{
	"PUT /v1/slack/app":     "deployment configuration, refused for every API key; only the CLI's mTLS identity sets it",
	"GET /v1/slack/install": "needs a configured Slack app (503 on the dev stack)",
	"POST /v1/ingest/connections/{connection_id}:complete": "needs a real OAuth state and an identity provider to exchange the code",
	"POST /v1/responses/{response_id}/cancel":              "Rampart runs no background responses: a stored response is always 400 (ADR 0040)",
	"GET /v1/usage/logs/{request_id}":                      "prompt logging is a registry opt-in, off for the dev stack's tenants (inference's promptlog tests read one)",
	"POST /v1/collections/{collection}/documents:crawl":    "the SSRF guard refuses loopback and the dev stack reaches no public site; a crawl job needs one (ingestion's crawl tests)",
	"PUT /v1/slack/bindings":                               "binds a workspace of a Slack installation, which needs Slack's OAuth (slackadapter tests)",
	"DELETE /v1/slack/bindings/{team_id}":                  "needs a binding, which needs a Slack installation (slackadapter tests)",
	"PUT /v1/slack/installations/{team_id}/policy":         "sets a Slack installation's policy, which needs Slack's OAuth (slackadapter tests)",
	"PATCH /v1/slack/installations/{team_id}/policy":       "updates a Slack installation's policy, which needs Slack's OAuth (slackadapter tests; TestSlackKBUseNeedsTheTenantAdminsList)",
}

// notInDocument lists table routes the document deliberately leaves out,
// with the reason.
var notInDocument = map[string]string{
	"* /slack/*": "Slack's Events API relay speaks Slack's protocol (signed by Slack, checked by the slackadapter tests), not Rampart's API",
}

func newOpenAPICheck(t *testing.T, m *matrix) *openapiCheck {
	t.Helper()
	code, raw := m.call(t, http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, code)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	closeSchemas(doc)
	return &openapiCheck{doc: doc, ok: map[string]int{}, failed: map[string]int{}}
}

// docPath is the document's path for a table pattern: {name=**} is
// {name}, and the model route names its parameter model, as OpenAI does.
func docPath(pattern string) string {
	if pattern == "/v1/models/{id=**}" {
		return "/v1/models/{model}"
	}
	return strings.ReplaceAll(pattern, "=**}", "}")
}

var templateVar = regexp.MustCompile(`\{([a-z_]+)\}`)

// pathParams extracts the values of tmpl's variables from path; a
// variable may span segments ({name} of a secret is a/b/c).
func pathParams(tmpl, path string) (map[string]string, bool) {
	var b strings.Builder
	b.WriteString("^")
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		j := strings.IndexByte(rest, '}')
		b.WriteString(regexp.QuoteMeta(rest[:i]) + "(.+)")
		rest = rest[j+1:]
	}
	b.WriteString("$")
	m := regexp.MustCompile(b.String()).FindStringSubmatch(path)
	if m == nil {
		return nil, false
	}
	out := map[string]string{}
	for i, n := range templateVar.FindAllStringSubmatch(tmpl, -1) {
		out[n[1]] = m[i+1]
	}
	return out, true
}

// check validates one exchange of route r (validate) and counts it.
func (c *openapiCheck) check(t *testing.T, r *permissions.Route, method, path string, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	if _, skip := notInDocument[r.Key()]; skip {
		return
	}
	require.NoError(t, c.validate(t.Context(), r, method, path, reqBody, status, header, body))
	c.mu.Lock()
	defer c.mu.Unlock()
	if status/100 == 2 {
		c.ok[r.Key()]++
	} else {
		c.failed[r.Key()]++
	}
}

// validate checks the request when it succeeded (a refused request may be
// malformed on purpose) and the response always.
func (c *openapiCheck) validate(ctx context.Context, r *permissions.Route, method, path string, reqBody []byte, status int, header http.Header, body []byte) error {
	tmpl := docPath(r.Pattern)
	pi := c.doc.Paths.Value(tmpl)
	if pi == nil {
		return fmt.Errorf("%s: %s is not in the OpenAPI document", r.Key(), tmpl)
	}
	op := pi.GetOperation(method)
	if op == nil {
		return fmt.Errorf("%s: no %s operation on %s in the OpenAPI document", r.Key(), method, tmpl)
	}
	p, query, _ := strings.Cut(path, "?")
	params, ok := pathParams(tmpl, p)
	if !ok {
		return fmt.Errorf("%s does not match %s", path, tmpl)
	}
	url := "http://edge" + p
	if query != "" {
		url += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(reqBody))
	if err != nil {
		return err
	}
	if len(reqBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params,
		Route:   &routers.Route{Spec: c.doc, Path: tmpl, PathItem: pi, Method: method, Operation: op},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if status/100 == 2 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("%s: request %s %s: %w", r.Key(), path, reqBody, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: response %d %.500s: %w", r.Key(), status, body, err)
	}
	return nil
}

// coverage fails for a route of the table with no validated success (and
// no reason in noSuccessExample) or, unless public, no validated error.
func (c *openapiCheck) coverage(t *testing.T, routes []permissions.Route) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range routes {
		k := r.Key()
		if _, skip := notInDocument[k]; skip {
			continue
		}
		_, exempt := noSuccessExample[k]
		switch {
		case c.ok[k] == 0 && !exempt:
			t.Errorf("%s: no success response was validated against the OpenAPI document; make the matrix's request for it succeed (authz_matrix_test.go request) or say why it cannot in noSuccessExample", k)
		case c.ok[k] > 0 && exempt:
			t.Errorf("%s: a success response was validated; remove it from noSuccessExample", k)
		}
		if !r.Public && c.failed[k] == 0 {
			t.Errorf("%s: no error response was validated against the OpenAPI document", k)
		}
	}
}

// The route check can fail: a field under another name than the
// document's, an error body in another shape, a request field the
// document does not know, and a path the template does not match are
// refused; the real shapes pass, a secret name with slashes included.
func TestOpenAPICheckRefusesMismatches(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../docs/api/openapi.json")
	require.NoError(t, err)
	closeSchemas(doc)
	c := &openapiCheck{doc: doc}
	route := func(key string) *permissions.Route {
		for _, r := range permissions.Default().Routes() {
			if r.Key() == key {
				return &r
			}
		}
		t.Fatalf("no route %s", key)
		return nil
	}
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	whoami, value := route("GET /v1/whoami"), route("GET /v1/secrets/{name=**}:value")
	tests := []struct {
		name    string
		r       *permissions.Route
		method  string
		path    string
		req     string
		status  int
		body    string
		refused bool
	}{
		{"snake_case fields", whoami, http.MethodGet, "/v1/whoami", "", 200, `{"key_id":"k1","tenant_id":"t1","subject":"s1","roles":[],"scopes":[]}`, false},
		{"a field written always left out", whoami, http.MethodGet, "/v1/whoami", "", 200, `{"key_id":"k1","tenant_id":"t1"}`, true},
		{"camelCase field", whoami, http.MethodGet, "/v1/whoami", "", 200, `{"keyId":"k1"}`, true},
		{"OpenAI error body", whoami, http.MethodGet, "/v1/whoami", "", 401, `{"error":{"message":"m","type":"authentication_error","param":null,"code":"invalid_api_key"}}`, false},
		{"gRPC-style error body", whoami, http.MethodGet, "/v1/whoami", "", 401, `{"code":16,"message":"m","details":[]}`, true},
		{"secret name with slashes", value, http.MethodGet, "/v1/secrets/dev/app/x:value", "", 404,
			`{"error":{"message":"m","type":"invalid_request_error","param":"name","code":"not_found"}}`, false},
		{"path outside the template", value, http.MethodGet, "/v1/secrets/dev/app/x:versions", "", 404, `{}`, true},
		{"unknown request field", route("POST /v1/keys"), http.MethodPost, "/v1/keys", `{"name":"k","scopez":["chat:write"]}`, 200, `{}`, true},
		{"known request fields", route("POST /v1/keys"), http.MethodPost, "/v1/keys", `{"name":"k","scopes":["chat:write"]}`, 200, `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.validate(t.Context(), tt.r, tt.method, tt.path, []byte(tt.req), tt.status, jsonHeader, []byte(tt.body))
			if tt.req != "" { // the request's check: its response is not the point here
				if err != nil && strings.Contains(err.Error(), ": response ") {
					err = nil
				}
			}
			if tt.refused {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
		})
	}
}
