package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/ingestiontest"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// Authorization review 6: a prompt log holds what its request could read
// (a grounded answer quotes the tenant's documents), so it is read only by
// an admin key that could have made the request — ADR 0088's rule for
// stored responses (ADR 0097 §2). Others do not see the entry: it is left
// out of the list and 404 by id, as one that does not exist.
func TestPromptLogsNeedWhatTheirRequestNeeded(t *testing.T) {
	const quote = "CANARY-handbook-quote-41d7"
	client, as := promptLogServer(t, quote)
	full := func(*authv1.Principal) {}
	_, err := client.ChatCompletion(as("req-grounded", full), &inferencev1.ChatCompletionRequest{
		Body: ragBody("rampart-extractive", `,"rampart":{"collections":["handbook"]}`, "How often do VPN certificates rotate?")})
	require.NoError(t, err)
	_, err = client.ChatCompletion(as("req-echo", full), &inferencev1.ChatCompletionRequest{Body: chatBody("echo", "plain question", "")})
	require.NoError(t, err)

	noSearch := func(p *authv1.Principal) { p.Scopes = []string{"usage:read", "chat:write"} }
	onlyEcho := func(p *authv1.Principal) { p.AllowedModels = []string{"echo"} }
	onlyExtractive := func(p *authv1.Principal) { p.AllowedModels = []string{"rampart-extractive"} }
	for _, tc := range []struct {
		name    string
		key     func(*authv1.Principal)
		visible []string
	}{
		{"a key that could make both reads both", full, []string{"req-echo", "req-grounded"}},
		{"without ingest:read the grounded entry is not shown", noSearch, []string{"req-echo"}},
		{"a model list without the grounded request's model", onlyEcho, []string{"req-echo"}},
		{"a model list without echo", onlyExtractive, []string{"req-grounded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := client.ListPromptLogs(as("r", tc.key), &inferencev1.ListPromptLogsRequest{})
			require.NoError(t, err)
			var got []string
			for _, l := range list.GetLogs() {
				got = append(got, l.GetRequestId())
				if l.GetRequestId() != "req-grounded" {
					require.NotContains(t, l.GetResponse(), quote)
				}
			}
			require.ElementsMatch(t, tc.visible, got)
			for _, id := range []string{"req-echo", "req-grounded"} {
				one, err := client.GetPromptLog(as("r", tc.key), &inferencev1.GetPromptLogRequest{RequestId: id})
				if contains(tc.visible, id) {
					require.NoError(t, err, id)
					if id == "req-grounded" {
						require.Contains(t, one.GetLog().GetResponse(), quote, "the admin who may search reads the quote")
					}
					continue
				}
				require.Equal(t, codes.NotFound, status.Code(err), "%s: %v", id, err)
				require.NotContains(t, err.Error(), quote)
			}
		})
	}
}

// TestPromptLogOfAContinuedResponseNeedsTheChain: a Responses call that
// continues a grounded stored response (previous_response_id) holds that
// answer in its input, so its prompt log entry needs what the grounded
// request needed, though it names no collection itself.
func TestPromptLogOfAContinuedResponseNeedsTheChain(t *testing.T) {
	const quote = "CANARY-chained-quote-7c2e"
	client, as := promptLogServer(t, quote)
	full := func(*authv1.Principal) {}
	first, err := client.ChatCompletion(as("req-grounded", full), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"rampart-extractive","store":true,"input":"How often do VPN certificates rotate?","rampart":{"collections":["handbook"]}}`)})
	require.NoError(t, err)
	var stored struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(first.GetBody(), &stored))
	require.Contains(t, string(first.GetBody()), quote)
	_, err = client.ChatCompletion(as("req-chained", full), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"echo","previous_response_id":"` + stored.ID + `","input":"thanks"}`)})
	require.NoError(t, err)

	noSearch := func(p *authv1.Principal) { p.Scopes = []string{"usage:read", "chat:write"} }
	for _, tc := range []struct {
		name    string
		key     func(*authv1.Principal)
		visible bool
	}{
		{"a key that could make the chain reads the continuation", full, true},
		{"without ingest:read the continuation of a grounded answer is not shown", noSearch, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one, err := client.GetPromptLog(as("r", tc.key), &inferencev1.GetPromptLogRequest{RequestId: "req-chained"})
			if tc.visible {
				require.NoError(t, err)
				require.Contains(t, one.GetLog().GetRequest(), quote, "the continuation's logged input holds the earlier answer")
				return
			}
			require.Equal(t, codes.NotFound, status.Code(err), err)
			list, err := client.ListPromptLogs(as("r", tc.key), &inferencev1.ListPromptLogsRequest{})
			require.NoError(t, err)
			for _, l := range list.GetLogs() {
				require.NotContains(t, l.GetRequest(), quote)
				require.NotContains(t, l.GetResponse(), quote)
			}
		})
	}
}

// promptLogServer starts inference with prompt logging on for t1 and one
// handbook passage holding quote; as makes a call context of t1's admin
// key k-admin with requestID, narrowed by mutate.
func promptLogServer(t *testing.T, quote string) (inferencev1.InferenceServiceClient, func(requestID string, mutate func(*authv1.Principal)) context.Context) {
	t.Helper()
	const models = `{
  "models": [{"id": "rampart-extractive", "upstream": "local"}, {"id": "echo", "upstream": "local"}],
  "tenants": {"t1": {"allowed_models": ["*"], "prompt_logging": true}},
  "default": {"allowed_models": ["*"]}
}`
	srv := servertest.Start(t, servertest.Options{Keyvault: func(*keyvaulttest.Server) {}, Models: []byte(models),
		Ingestion: func(f *ingestiontest.Server) {
			f.Add("t1", "handbook", &ingestionv1.Passage{ChunkId: "doc-vpn:0", DocumentId: "doc-vpn", Source: "vpn.md",
				Text: "VPN certificates rotate every 45 days at " + quote + "."})
		}})
	as := func(requestID string, mutate func(*authv1.Principal)) context.Context {
		c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		t.Cleanup(cancel)
		return srv.Outgoing(c, t, principalFor("t1", "k-admin", func(p *authv1.Principal) {
			p.Roles = []string{"admin"}
			mutate(p)
		}), "x-request-id", requestID)
	}
	return inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge")), as
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
