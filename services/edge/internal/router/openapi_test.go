package router_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/gen"
	"github.com/rampart-platform/rampart/pkg/permissions"
	"github.com/rampart-platform/rampart/services/edge/internal/router"
)

type openAPIDoc struct {
	OpenAPI  string                                `json:"openapi"`
	Security []map[string][]string                 `json:"security"`
	Paths    map[string]map[string]json.RawMessage `json:"paths"`
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// shape makes a table pattern and a document path comparable: every
// parameter ({name=**}, {key_id}) becomes {}.
func shape(p string) string { return pathParam.ReplaceAllString(p, "{}") }

// The served document is the committed one, byte for byte, is OpenAPI 3.1,
// and documents exactly the routes of the permission table (the Slack relay
// aside): a route added to one and not the other fails here.
func TestOpenAPIDocumentCoversTheRouteTable(t *testing.T) {
	committed, err := os.ReadFile("../../../../docs/api/openapi.json")
	require.NoError(t, err)
	require.Equal(t, string(committed), string(gen.OpenAPI), "docs/api/openapi.json differs from gen/openapi/rampart.json: make generate")

	srv := httptest.NewServer(router.New(router.Options{OpenAPI: gen.OpenAPI}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/openapi.json") //nolint:noctx // test server
	require.NoError(t, err)
	served, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, string(gen.OpenAPI), string(served))

	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(served, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Equal(t, []map[string][]string{{"bearer": {}}}, doc.Security)

	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+shape(p)] = true
			var o struct {
				Security *[]map[string][]string `json:"security"`
			}
			require.NoError(t, json.Unmarshal(op, &o))
			public := p == "/healthz" || p == "/readyz" || p == "/openapi.json"
			if public {
				require.NotNil(t, o.Security, "%s %s is public: security []", method, p)
				require.Empty(t, *o.Security)
			} else {
				require.Nil(t, o.Security, "%s %s inherits the bearer requirement", method, p)
			}
		}
	}
	var inTable []string
	for _, r := range permissions.Default().Routes() {
		if strings.HasPrefix(r.Pattern, "/slack/") {
			continue // Slack's signed webhooks, not a client API
		}
		key := r.Method + " " + shape(r.Pattern)
		inTable = append(inTable, key)
		require.True(t, documented[key], "route %s %s is not in the OpenAPI document", r.Method, r.Pattern)
	}
	for key := range documented {
		require.True(t, slices.Contains(inTable, key), "the OpenAPI document has %s, which the route table does not serve", key)
	}
}
