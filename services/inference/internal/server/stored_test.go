package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/inference/internal/servertest"
)

// storedModels turns prompt logging on for nobody: storing a response is
// the client's choice ("store": true), not the prompt-log switch.
const storedModels = `{
  "models": [{"id": "echo", "upstream": "local"}, {"id": "rampart-extractive", "upstream": "local"}],
  "default": {"allowed_models": ["*"]}
}`

// Stored responses: "store": true keeps the response for its tenant,
// sealed with the tenant's data key; previous_response_id continues it,
// GET and DELETE read and remove it, and another tenant's id is 404
// everywhere.
func TestStoredResponses(t *testing.T) {
	srv := servertest.Start(t, servertest.Options{Models: []byte(storedModels), Keyvault: func(*keyvaulttest.Server) {}})
	client := inferencev1.NewInferenceServiceClient(srv.Dial(t, "edge"))
	ctx := func(tenant string) context.Context {
		c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		t.Cleanup(cancel)
		return srv.Outgoing(c, t, principalFor(tenant, "k-"+tenant), "x-request-id", "req-stored")
	}
	create := func(tenant, body string) (responseObject, []byte) {
		t.Helper()
		resp, err := client.ChatCompletion(ctx(tenant), &inferencev1.ChatCompletionRequest{Format: responsesFormat, Body: []byte(body)})
		require.NoError(t, err)
		var r responseObject
		require.NoError(t, json.Unmarshal(resp.GetBody(), &r), "%s", resp.GetBody())
		return r, resp.GetBody()
	}
	get := func(tenant, id string) ([]byte, error) {
		resp, err := client.GetResponse(ctx(tenant), &inferencev1.GetResponseRequest{Id: id})
		return resp.GetBody(), err
	}
	requireNotFound := func(t *testing.T, err error, param string) {
		t.Helper()
		code, _, p := errInfo(t, err)
		require.Equal(t, codes.NotFound, code, "%v", err)
		require.Equal(t, param, p)
	}
	const canary = "CANARY-stored-5be81d0c"

	// Not stored unless asked: Rampart's default is false.
	plain, _ := create("t1", `{"model":"echo","input":"not kept"}`)
	require.False(t, plain.Store)
	_, err := get("t1", plain.ID)
	requireNotFound(t, err, "response_id")

	first, firstBody := create("t1", `{"model":"echo","store":true,"input":"remember `+canary+`"}`)
	require.True(t, first.Store)
	got, err := get("t1", first.ID)
	require.NoError(t, err)
	require.JSONEq(t, string(firstBody), string(got), "GET returns the response as created")

	t.Run("another tenant's id is 404", func(t *testing.T) {
		_, err := get("t2", first.ID)
		requireNotFound(t, err, "response_id")
		_, err = client.DeleteResponse(ctx("t2"), &inferencev1.DeleteResponseRequest{Id: first.ID})
		requireNotFound(t, err, "response_id")
		_, err = client.ChatCompletion(ctx("t2"), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"echo","input":[{"role":"assistant","content":"ok"}],"previous_response_id":"` + first.ID + `"}`)})
		requireNotFound(t, err, "previous_response_id")
		_, err = get("t1", "resp_unknown0000")
		requireNotFound(t, err, "response_id")
	})

	// The chain: a request with only an assistant turn is answered from
	// the previous response's input (echo answers the last user message),
	// through two links, streamed or not.
	second, _ := create("t1", `{"model":"echo","store":true,"previous_response_id":"`+first.ID+`","input":[{"role":"assistant","content":"noted"}]}`)
	require.Equal(t, "remember "+canary, second.Output[0].Content[0].Text)
	unchained, _ := create("t1", `{"model":"echo","input":[{"role":"assistant","content":"noted"}]}`)
	require.Empty(t, unchained.Output[0].Content[0].Text, "without the chain there is no user message")
	require.Greater(t, second.Usage.InputTokens, unchained.Usage.InputTokens, "the previous conversation is sent to the model")

	st, err := client.StreamChatCompletion(ctx("t1"), &inferencev1.StreamChatCompletionRequest{Format: responsesFormat,
		Body: []byte(`{"model":"echo","stream":true,"store":true,"previous_response_id":"` + second.ID + `","input":[{"role":"assistant","content":"again"}]}`)})
	require.NoError(t, err)
	var final responseObject
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var ev struct {
			Type     string         `json:"type"`
			Response responseObject `json:"response"`
		}
		require.NoError(t, json.Unmarshal(m.GetChunk(), &ev))
		if ev.Type == "response.completed" {
			final = ev.Response
		}
	}
	require.True(t, final.Store)
	require.Equal(t, "remember "+canary, final.Output[0].Content[0].Text, "two links back")
	streamed, err := get("t1", final.ID)
	require.NoError(t, err, "a streamed response is stored before response.completed")
	var back responseObject
	require.NoError(t, json.Unmarshal(streamed, &back))
	require.Equal(t, final.Output[0].Content[0].Text, back.Output[0].Content[0].Text)

	// Canary: the stored input is nowhere on disk in plaintext.
	files, err := filepath.Glob(filepath.Join(srv.DataDir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(canary)), "plaintext of a stored response in %s", f)
	}

	t.Run("delete", func(t *testing.T) {
		del, err := client.DeleteResponse(ctx("t1"), &inferencev1.DeleteResponseRequest{Id: first.ID})
		require.NoError(t, err)
		require.JSONEq(t, `{"id":"`+first.ID+`","object":"response","deleted":true}`, string(del.GetBody()))
		_, err = get("t1", first.ID)
		requireNotFound(t, err, "response_id")
		_, err = client.DeleteResponse(ctx("t1"), &inferencev1.DeleteResponseRequest{Id: first.ID})
		requireNotFound(t, err, "response_id")
		_, err = client.ChatCompletion(ctx("t1"), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"echo","input":"x","previous_response_id":"` + first.ID + `"}`)})
		requireNotFound(t, err, "previous_response_id")
		_, err = get("t1", second.ID)
		require.NoError(t, err, "a later link keeps its own copy of the conversation")
	})

	// ADR 0088: a key that could not have made the request reads nothing
	// of its answer: a model allow-list without its model is 404 for GET,
	// input items, DELETE and previous_response_id alike.
	t.Run("a key not allowed the response's model is 404", func(t *testing.T) {
		kept, _ := create("t1", `{"model":"echo","store":true,"input":"for echo keys only"}`)
		as := func(models ...string) context.Context {
			c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			t.Cleanup(cancel)
			return srv.Outgoing(c, t, principalFor("t1", "k-narrow", func(p *authv1.Principal) { p.AllowedModels = models }))
		}
		narrow := as("rampart-extractive")
		_, err := client.GetResponse(narrow, &inferencev1.GetResponseRequest{Id: kept.ID})
		requireNotFound(t, err, "response_id")
		_, err = client.ListResponseInputItems(narrow, &inferencev1.ListResponseInputItemsRequest{Id: kept.ID})
		requireNotFound(t, err, "response_id")
		_, err = client.DeleteResponse(narrow, &inferencev1.DeleteResponseRequest{Id: kept.ID})
		requireNotFound(t, err, "response_id")
		_, err = client.ChatCompletion(narrow, &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"rampart-extractive","input":"x","previous_response_id":"` + kept.ID + `"}`)})
		requireNotFound(t, err, "previous_response_id")

		got, err := client.GetResponse(as("echo"), &inferencev1.GetResponseRequest{Id: kept.ID})
		require.NoError(t, err, "a key allowed the model reads it")
		require.Contains(t, string(got.GetBody()), kept.ID)
	})

	// Authorization review 6: a response continuing a stored one carries
	// that one's conversation, so it needs what that one needed too. Else
	// a key allowed only rampart-extractive read, through a later link made
	// on rampart-extractive, an answer stored for echo keys, which as
	// previous_response_id it may not name.
	t.Run("a later link needs what its previous response needed", func(t *testing.T) {
		const secret = "CANARY-echo-only-9d2f"
		base, _ := create("t1", `{"model":"echo","store":true,"input":"`+secret+`"}`)
		as := func(models ...string) context.Context {
			c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			t.Cleanup(cancel)
			return srv.Outgoing(c, t, principalFor("t1", "k-models", func(p *authv1.Principal) { p.AllowedModels = models }))
		}
		r, err := client.ChatCompletion(as("echo", "rampart-extractive"), &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"rampart-extractive","store":true,"previous_response_id":"` + base.ID + `","input":"go on"}`)})
		require.NoError(t, err)
		var later responseObject
		require.NoError(t, json.Unmarshal(r.GetBody(), &later))

		narrow := as("rampart-extractive")
		_, err = client.GetResponse(narrow, &inferencev1.GetResponseRequest{Id: later.ID})
		requireNotFound(t, err, "response_id")
		items, err := client.ListResponseInputItems(narrow, &inferencev1.ListResponseInputItemsRequest{Id: later.ID})
		require.NotContains(t, string(items.GetBody()), secret)
		requireNotFound(t, err, "response_id")
		_, err = client.ChatCompletion(narrow, &inferencev1.ChatCompletionRequest{Format: responsesFormat,
			Body: []byte(`{"model":"rampart-extractive","input":"x","previous_response_id":"` + later.ID + `"}`)})
		requireNotFound(t, err, "previous_response_id")

		items, err = client.ListResponseInputItems(as("echo", "rampart-extractive"), &inferencev1.ListResponseInputItemsRequest{Id: later.ID})
		require.NoError(t, err, "a key allowed both links reads it")
		require.Contains(t, string(items.GetBody()), secret)
	})

	t.Run("scope", func(t *testing.T) {
		c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		p := principalFor("t1", "k-t1", func(p *authv1.Principal) { p.Scopes = []string{"usage:read"} })
		c = srv.Outgoing(c, t, p)
		_, err := client.GetResponse(c, &inferencev1.GetResponseRequest{Id: second.ID})
		code, _, _ := errInfo(t, err)
		require.Equal(t, codes.PermissionDenied, code)
	})
}
