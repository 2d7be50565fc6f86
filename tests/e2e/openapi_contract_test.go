package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIResponsesMatchTheDocument checks real responses of the dev
// stack against the OpenAPI 3.1 document the edge serves (kin-openapi's
// response validation): REST routes of several services with their
// snake_case fields, the OpenAI-compatible routes, the operational ones,
// and error bodies. A field the edge sends under another name than the
// document's, or an error body not in OpenAI's shape, fails here.
// Every route of the permission table is validated too, by the
// authorization matrix (openapi_routes_test.go); these cases add bodies the
// matrix does not send (a tool call, a prompt array, metadata).
func TestOpenAPIResponsesMatchTheDocument(t *testing.T) {
	s := startStack(t)
	admin := s.env["RAMPART_ADMIN_KEY"]

	resp, err := http.Get(s.baseURL + "/openapi.json") //nolint:noctx // test
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	// Strict for the test: an object schema that lists properties admits no
	// others, so a field the edge sends under a name the document does not
	// know (keyId for key_id) fails instead of passing as an extra.
	closeSchemas(doc)
	doc.Servers = openapi3.Servers{{URL: s.baseURL}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)

	var key createdKey
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, s.baseURL+"/v1/keys", admin,
		map[string]any{"name": "openapi-contract", "scopes": []string{"chat:write", "embeddings:write"}}, &key))

	tests := []struct {
		name, method, path, key, body string
		status                        int
	}{
		{"liveness", http.MethodGet, "/healthz", "", "", http.StatusOK},
		{"readiness", http.MethodGet, "/readyz", "", "", http.StatusOK},
		{"whoami", http.MethodGet, "/v1/whoami", admin, "", http.StatusOK},
		{"create key", http.MethodPost, "/v1/keys", admin, `{"name":"doc-key","scopes":["chat:write"]}`, http.StatusOK},
		{"list keys", http.MethodGet, "/v1/keys?page_size=5", admin, "", http.StatusOK},
		{"get key", http.MethodGet, "/v1/keys/" + key.Key.KeyID, admin, "", http.StatusOK},
		{"members", http.MethodGet, "/v1/members", admin, "", http.StatusOK},
		{"audit", http.MethodGet, "/v1/audit?page_size=3", admin, "", http.StatusOK},
		{"create secret", http.MethodPost, "/v1/secrets", admin, `{"name":"/dev/openapi/api/doc","secret_string":"s3cret-value"}`, http.StatusOK},
		{"list secrets", http.MethodGet, "/v1/secrets", admin, "", http.StatusOK},
		{"collections", http.MethodGet, "/v1/collections", admin, "", http.StatusOK},
		{"usage", http.MethodGet, "/v1/usage", admin, "", http.StatusOK},
		{"models", http.MethodGet, "/v1/models", key.APIKey, "", http.StatusOK},
		{"model", http.MethodGet, "/v1/models/echo", key.APIKey, "", http.StatusOK},
		{"chat", http.MethodPost, "/v1/chat/completions", key.APIKey, `{"model":"echo","messages":[{"role":"user","content":"hi"}]}`, http.StatusOK},
		{"legacy completion", http.MethodPost, "/v1/completions", key.APIKey, `{"model":"echo","prompt":["a","b"]}`, http.StatusOK},
		{"response", http.MethodPost, "/v1/responses", key.APIKey, `{"model":"echo","input":"hi","metadata":{"k":"v"}}`, http.StatusOK},
		{"response with a tool call", http.MethodPost, "/v1/responses", key.APIKey,
			`{"model":"echo","input":"x","tools":[{"type":"function","name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}],"tool_choice":"required"}`, http.StatusOK},
		{"embeddings", http.MethodPost, "/v1/embeddings", key.APIKey, `{"model":"rampart-hash-embed","input":["a","b"],"dimensions":8}`, http.StatusOK},
		{"400 OpenAI error", http.MethodPost, "/v1/chat/completions", key.APIKey, `{"model":"echo","messages":[],"n":2}`, http.StatusBadRequest},
		{"404 unknown model", http.MethodGet, "/v1/models/nope", key.APIKey, "", http.StatusNotFound},
		{"401 no key", http.MethodGet, "/v1/keys", "", "", http.StatusUnauthorized},
		{"404 REST", http.MethodGet, "/v1/keys/AAAAAAAAAAAA", admin, "", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, s.baseURL+tt.path, body)
			require.NoError(t, err)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, tt.status, resp.StatusCode, "%s", got)

			// The request too, for the 2xx cases: its field names are the
			// document's.
			vreq, err := http.NewRequestWithContext(t.Context(), tt.method, s.baseURL+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			vreq.Header = req.Header
			route, params, err := router.FindRoute(vreq)
			require.NoError(t, err, "%s %s is not in the document", tt.method, tt.path)
			in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			if tt.status < 400 {
				require.NoError(t, openapi3filter.ValidateRequest(t.Context(), in), "request %s", tt.body)
			}
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
				Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
			require.NoError(t, openapi3filter.ValidateResponse(t.Context(), out), "response %s", got)
			if tt.status >= 400 {
				var e struct {
					Error map[string]json.RawMessage `json:"error"`
				}
				require.NoError(t, json.Unmarshal(got, &e))
				require.Len(t, e.Error, 4, "message, type, param, code: %s", got)
			}
		})
	}
}

// closeSchemas sets additionalProperties: false on every object schema of
// doc that lists properties and says nothing about others.
func closeSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, l := range []openapi3.SchemaRefs{s.AnyOf, s.OneOf, s.AllOf} {
			for _, x := range l {
				walk(x)
			}
		}
	}
	for _, r := range doc.Components.Schemas {
		walk(r)
	}
}

// The strict reading of the committed document refuses a field under its
// camelCase name (what the Swagger 2.0 document used to say) and accepts
// the snake_case one the edge sends: the check above can fail.
func TestClosedSchemasRefuseOtherFieldNames(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../docs/api/openapi.json")
	require.NoError(t, err)
	closeSchemas(doc)
	whoami := doc.Components.Schemas["v1WhoAmIResponse"].Value
	require.NoError(t, whoami.VisitJSON(map[string]any{"key_id": "k1", "tenant_id": "t1"}))
	require.Error(t, whoami.VisitJSON(map[string]any{"keyId": "k1"}))
	chat := doc.Components.Schemas["ChatCompletion"].Value
	require.Error(t, chat.VisitJSON(map[string]any{"id": "x", "object": "chat.completion", "created": 1.0, "model": "m", "choices": []any{}, "systemFingerprint": nil}))
}
