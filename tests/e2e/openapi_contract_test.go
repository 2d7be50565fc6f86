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
	"github.com/getkin/kin-openapi/routers"
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
	router := servedDocument(t, s)

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
			got := exchange(t, router, req, tt.body)
			require.Equal(t, tt.status, got.status, "%s", got.body)
			if tt.status >= 400 {
				var e struct {
					Error map[string]json.RawMessage `json:"error"`
				}
				require.NoError(t, json.Unmarshal(got.body, &e))
				require.Len(t, e.Error, 4, "message, type, param, code: %s", got.body)
			}
		})
	}
}

// servedDocument loads the OpenAPI document the stack's edge serves and
// returns a router over it. Strict for the tests: an object schema that
// lists properties admits no others (closeSchemas), so a field the edge
// sends under a name the document does not know (keyId for key_id) fails
// instead of passing as an extra; a required field the edge leaves out
// fails too.
func servedDocument(t *testing.T, s *stack) routers.Router {
	t.Helper()
	resp, err := http.Get(s.baseURL + "/openapi.json") //nolint:noctx // test
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	closeSchemas(doc)
	doc.Servers = openapi3.Servers{{URL: s.baseURL}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return router
}

// answer is a response as read.
type answer struct {
	status int
	body   []byte
}

// exchange sends req (body is its body, "" for none) and validates the
// exchange against the document: the request too when the answer is a
// success (its field names are the document's), and the response with its
// status.
func exchange(t *testing.T, router routers.Router, req *http.Request, body string) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	// The same request again, its body readable for the validation.
	vreq := req.Clone(t.Context())
	vreq.Body = io.NopCloser(strings.NewReader(body))
	route, params, err := router.FindRoute(vreq)
	require.NoError(t, err, "%s %s is not in the document", req.Method, req.URL.Path)
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if resp.StatusCode < 400 {
		require.NoError(t, openapi3filter.ValidateRequest(t.Context(), in), "request %s", body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	require.NoError(t, openapi3filter.ValidateResponse(t.Context(), out), "response %s", got)
	return answer{status: resp.StatusCode, body: got}
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
// the snake_case one the edge sends, and refuses a response without a
// field the edge always writes: the checks above can fail.
func TestClosedSchemasRefuseOtherFieldNames(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../docs/api/openapi.json")
	require.NoError(t, err)
	closeSchemas(doc)
	whoami := doc.Components.Schemas["v1WhoAmIResponse"].Value
	require.NoError(t, whoami.VisitJSON(map[string]any{"key_id": "k1", "tenant_id": "t1", "subject": "", "roles": []any{}, "scopes": []any{"admin"}}))
	require.Error(t, whoami.VisitJSON(map[string]any{"keyId": "k1", "tenant_id": "t1", "subject": "", "roles": []any{}, "scopes": []any{}}))
	// Every field a response always carries is required: an empty list
	// left out fails; a request body's copy requires none of them.
	require.Error(t, whoami.VisitJSON(map[string]any{"key_id": "k1", "tenant_id": "t1", "subject": "", "scopes": []any{}}))
	require.NoError(t, doc.Components.Schemas["v1AssistantInput"].Value.VisitJSON(map[string]any{"name": "kb"}))
	require.Error(t, doc.Components.Schemas["v1Assistant"].Value.VisitJSON(map[string]any{"name": "kb"}))
	chat := doc.Components.Schemas["ChatCompletion"].Value
	require.Error(t, chat.VisitJSON(map[string]any{"id": "x", "object": "chat.completion", "created": 1.0, "model": "m", "choices": []any{}, "systemFingerprint": nil}))
}

// TestRESTJSONShape pins the JSON the REST routes write (docs/api/README.md,
// ADR 0070) on a tenant of its own, each exchange also validated against
// the served document: an empty list is [] and a zero value is written
// (never a missing member or {}), 64-bit integers are JSON strings, enums
// their names, an unset message field (a time, the limits) is left out;
// and a bad field's param is its path in the body the client sent.
func TestRESTJSONShape(t *testing.T) {
	s := startStack(t)
	router := servedDocument(t, s)
	admin := s.env["RAMPART_ADMIN_KEY"]
	call := func(t *testing.T, method, path, key, body string) (int, map[string]json.RawMessage) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, s.baseURL+path, rd)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		got := exchange(t, router, req, body)
		var members map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(got.body, &members), "%s", got.body)
		return got.status, members
	}
	member := func(t *testing.T, obj map[string]json.RawMessage, name string) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(obj[name], &m), "%s: %s", name, obj[name])
		return m
	}

	code, created := call(t, http.MethodPost, "/v1/tenants", admin, `{"name":"json-shape","owner_subject":"owner@shape.example"}`)
	require.Equal(t, http.StatusOK, code)
	var owner string
	require.NoError(t, json.Unmarshal(created["owner_api_key"], &owner))
	tenant := member(t, created, "tenant")
	var tenantID string
	require.NoError(t, json.Unmarshal(tenant["tenant_id"], &tenantID))
	require.JSONEq(t, `"TENANT_STATE_ACTIVE"`, string(tenant["state"]), "an enum by its name")
	require.NotContains(t, tenant, "delete_time", "an unset time is left out, not null")

	t.Run("empty lists are []", func(t *testing.T) {
		for _, tc := range []struct{ path, list string }{
			{"/v1/collections", "collections"},
			{"/v1/rampart/assistants", "assistants"},
			{"/v1/ingest/connections", "connections"},
		} {
			code, got := call(t, http.MethodGet, tc.path, owner, "")
			require.Equal(t, http.StatusOK, code, tc.path)
			require.JSONEq(t, `{"`+tc.list+`":[]}`, string(mustJSON(t, got)), tc.path)
		}
		// Beside the page token's empty string.
		code, got := call(t, http.MethodGet, "/v1/secrets", owner, "")
		require.Equal(t, http.StatusOK, code)
		require.JSONEq(t, `{"secrets":[],"next_page_token":""}`, string(mustJSON(t, got)))
	})

	t.Run("64-bit integers are strings, zeroes written", func(t *testing.T) {
		code, got := call(t, http.MethodPut, "/v1/tenants/"+tenantID+"/limits", admin, `{"requests_per_minute":"600"}`)
		require.Equal(t, http.StatusOK, code)
		limits := member(t, member(t, got, "tenant"), "limits")
		require.JSONEq(t, `{"requests_per_minute":"600","tokens_per_minute":"0","monthly_token_budget":"0","allowed_models":[],"max_concurrent_streams":"0"}`,
			string(mustJSON(t, limits)))
	})

	t.Run("param is the path in the body sent", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path, key, body, param string
		}{
			{"body: limits, the service found it", http.MethodPut, "/v1/tenants/" + tenantID + "/limits", admin, `{"tokens_per_minute":-1}`, "tokens_per_minute"},
			{"body: limits, the decoder found it", http.MethodPut, "/v1/tenants/" + tenantID + "/limits", admin, `{"allowed_models":"echo"}`, "allowed_models"},
			{"body: assistant, the service found it", http.MethodPost, "/v1/rampart/assistants", owner,
				`{"name":"shape-kb","model":"rampart-extractive","collections":["no-such-collection"]}`, "collections[0]"},
			{"body: *, nested", http.MethodPost, "/v1/keys", owner, `{"name":"k","limits":{"requests_per_minute":"many"}}`, "limits.requests_per_minute"},
			{"unknown nested member", http.MethodPost, "/v1/keys", owner, `{"name":"k","limits":{"rpm":1}}`, "limits.rpm"},
			{"query parameter", http.MethodGet, "/v1/keys?page_size=lots", owner, "", "page_size"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, got := call(t, tc.method, tc.path, tc.key, tc.body)
				require.Equal(t, http.StatusBadRequest, code)
				e := member(t, got, "error")
				require.JSONEq(t, jsonString(tc.param), string(e["param"]), "%v", e)
				var msg string
				require.NoError(t, json.Unmarshal(e["message"], &msg))
				require.NotContains(t, msg, "assistant.")
				require.NotContains(t, msg, "limits.tokens_per_minute")
			})
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
