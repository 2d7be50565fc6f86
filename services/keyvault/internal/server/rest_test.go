package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// TestRESTRouting mounts keyvault's generated grpc-gateway handlers on a
// runtime.ServeMux (as the edge does) over a real in-process keyvault gRPC
// server on mTLS, and checks that secret names with slashes (and the other
// allowed punctuation) reach the right RPC with the right name for every
// verb.
func TestRESTRouting(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cl := h.as(t, "edge")
	md := metadata.MD{}
	// The edge forwards the principal assertion it got from auth.
	ctx := h.ctx(t, "t1", "admin")
	outMD, _ := metadata.FromOutgoingContext(ctx)
	md.Set(principal.MetadataKey, outMD.Get(principal.MetadataKey)...)
	mux := runtime.NewServeMux(runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD { return md }))
	require.NoError(t, keyvaultv1.RegisterSecretsServiceHandlerClient(context.Background(), mux, cl.secrets))
	require.NoError(t, keyvaultv1.RegisterObservabilityServiceHandlerClient(context.Background(), mux, cl.obs))
	require.NoError(t, keyvaultv1.RegisterKmsServiceHandlerClient(context.Background(), mux, cl.kms))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
		return resp.StatusCode, out
	}

	for _, name := range []string{"/dev/billing/db-password/primary", "/prod/chatops/token/bot.v2@team+a=b/extra/depth"} {
		t.Run(name, func(t *testing.T) {
			p := "/v1/secrets" + name // REST paths carry the name's slashes as path segments
			code, out := do(http.MethodPost, "/v1/secrets", `{"name":"`+name+`","secretString":"v1","clientRequestToken":"`+tokA+`"}`)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, name, out["name"])

			code, out = do(http.MethodGet, p, "")
			require.Equal(t, http.StatusOK, code, out)
			secret, ok := out["secret"].(map[string]any)
			require.True(t, ok, out)
			require.Equal(t, name, secret["name"])

			code, out = do(http.MethodGet, p+":value", "")
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "v1", out["secretString"])
			require.Equal(t, name, out["name"])

			code, out = do(http.MethodPost, p+":putValue", `{"secretString":"v2","clientRequestToken":"`+tokB+`"}`)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, tokB, out["versionId"])

			code, out = do(http.MethodGet, p+":value?versionStage=AWSPREVIOUS", "")
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, "v1", out["secretString"])

			code, out = do(http.MethodPatch, p, `{"description":"routed"}`)
			require.Equal(t, http.StatusOK, code, out)

			code, out = do(http.MethodGet, p+":versions", "")
			require.Equal(t, http.StatusOK, code, out)
			require.Len(t, out["versions"], 2)

			code, out = do(http.MethodPost, p+":updateVersionStage", `{"versionStage":"AWSCURRENT","moveToVersionId":"`+tokA+`","removeFromVersionId":"`+tokB+`"}`)
			require.Equal(t, http.StatusOK, code, out)
			_, out = do(http.MethodGet, p+":value", "")
			require.Equal(t, "v1", out["secretString"])

			code, out = do(http.MethodPost, p+":rollback", `{}`)
			require.Equal(t, http.StatusOK, code, out)
			_, out = do(http.MethodGet, p+":value", "")
			require.Equal(t, "v2", out["secretString"])

			code, out = do(http.MethodPost, p+":tag", `{"tags":[{"key":"team","value":"billing"}]}`)
			require.Equal(t, http.StatusOK, code, out)
			code, out = do(http.MethodPost, p+":untag", `{"tagKeys":["team"]}`)
			require.Equal(t, http.StatusOK, code, out)

			code, out = do(http.MethodPost, p+":rotate", `{"clientRequestToken":"`+tokC+`","rotationFunction":{"type":"ROTATION_FUNCTION_TYPE_RANDOM_PASSWORD"},"rotationRules":{"scheduleExpression":"rate(30 days)"}}`)
			require.Equal(t, http.StatusOK, code, out)
			_, out = do(http.MethodGet, p+":value", "")
			require.Equal(t, tokC, out["versionId"])
			code, out = do(http.MethodPost, p+":cancelRotate", `{}`)
			require.Equal(t, http.StatusOK, code, out)

			code, out = do(http.MethodPost, "/v1/secrets:batchGet", `{"names":["`+name+`"]}`)
			require.Equal(t, http.StatusOK, code, out)
			require.Len(t, out["secretValues"], 1)

			code, out = do(http.MethodDelete, p+"?recoveryWindowInDays=7", "")
			require.Equal(t, http.StatusOK, code, out)
			code, out = do(http.MethodGet, p+":value", "")
			require.Equal(t, http.StatusBadRequest, code, out)
			code, out = do(http.MethodPost, p+":restore", `{}`)
			require.Equal(t, http.StatusOK, code, out)
			code, _ = do(http.MethodGet, p+":value", "")
			require.Equal(t, http.StatusOK, code)

			code, out = do(http.MethodGet, "/v1/secrets?namePrefix="+url.QueryEscape(name), "")
			require.Equal(t, http.StatusOK, code, out)
			require.Len(t, out["secrets"], 1)

			code, out = do(http.MethodGet, "/api/observability/secrets?namePrefix="+url.QueryEscape(name), "")
			require.Equal(t, http.StatusOK, code, out)
			obs, ok := out["secrets"].([]any)
			require.True(t, ok, out)
			require.Len(t, obs, 1)
			first, ok := obs[0].(map[string]any)
			require.True(t, ok, out)
			require.Equal(t, name, first["name"])
			require.NotContains(t, toJSON(t, out), "secretString", "no values in observability")
		})
	}

	code, out := do(http.MethodGet, "/v1/secrets/dev/none/x/y:value", "")
	require.Equal(t, http.StatusNotFound, code, out)
	code, out = do(http.MethodGet, "/v1/secrets/dev/bad%20name/x/y:value", "")
	require.Equal(t, http.StatusBadRequest, code, out)
	code, out = do(http.MethodPost, "/v1/kms/key:rotate", `{}`)
	require.Equal(t, http.StatusOK, code, out)
	require.NotEmpty(t, out["keyId"])
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestEmptyValueRefusedOverREST: an empty secret value is refused through
// the grpc-gateway as 400 with a Google-style body (google.rpc.Status: code
// 3, the message naming the field, and a BadRequest field violation), for
// PutSecretValue and for UpdateSecret with an explicit empty value; the
// secret keeps its one version (ADR 0084).
func TestEmptyValueRefusedOverREST(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cl := h.as(t, "edge")
	outMD, _ := metadata.FromOutgoingContext(h.ctx(t, "t1", "admin"))
	md := metadata.MD{principal.MetadataKey: outMD.Get(principal.MetadataKey)}
	mux := runtime.NewServeMux(runtime.WithMetadata(func(context.Context, *http.Request) metadata.MD { return md }))
	require.NoError(t, keyvaultv1.RegisterSecretsServiceHandlerClient(context.Background(), mux, cl.secrets))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(raw)
	}
	const p = "/v1/secrets/dev/app/db/password"
	code, body := do(http.MethodPost, "/v1/secrets", `{"name":"/dev/app/db/password","secretString":"v1"}`)
	require.Equal(t, http.StatusOK, code, body)

	for _, tc := range []struct{ desc, method, path, body, field string }{
		{"put empty string", http.MethodPost, p + ":putValue", `{"secretString":""}`, "secret_string"},
		{"put nothing", http.MethodPost, p + ":putValue", `{}`, "secret_string"},
		{"put empty binary", http.MethodPost, p + ":putValue", `{"secretBinary":"","contentType":"CONTENT_TYPE_BINARY"}`, "secret_binary"},
		{"update to empty", http.MethodPatch, p, `{"secretString":""}`, "secret_string"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			code, body := do(tc.method, tc.path, tc.body)
			require.Equal(t, http.StatusBadRequest, code, body)
			var st struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Details []struct {
					Type            string `json:"@type"`
					FieldViolations []struct {
						Field       string `json:"field"`
						Description string `json:"description"`
					} `json:"fieldViolations"`
				} `json:"details"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &st), body)
			require.Equal(t, 3, st.Code, "INVALID_ARGUMENT")
			require.Contains(t, st.Message, tc.field+": must not be empty")
			require.Len(t, st.Details, 1, body)
			require.Equal(t, "type.googleapis.com/google.rpc.BadRequest", st.Details[0].Type)
			require.Len(t, st.Details[0].FieldViolations, 1)
			require.Equal(t, tc.field, st.Details[0].FieldViolations[0].Field)
			require.Contains(t, st.Details[0].FieldViolations[0].Description, "must not be empty")
		})
	}
	code, body = do(http.MethodGet, p+":versions?includeDeprecated=true", "")
	require.Equal(t, http.StatusOK, code, body)
	var vs struct {
		Versions []any `json:"versions"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 1, "the refused writes stored nothing")
}
