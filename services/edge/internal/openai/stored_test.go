package openai_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/require"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/inference/inferencetest"
)

// Stored responses over HTTP: "store": true, previous_response_id,
// GET and DELETE /v1/responses/{id}, and 404 in OpenAI's error shape for
// another tenant's id.
func TestStoredResponsesHTTP(t *testing.T) {
	s := newStackInf(t, nil, openai.Options{}, func(o *inferencetest.Options) { o.Keyvault = func(*inferencetest.FakeKeyvault) {} })
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "k1"})
	s.AddKey(t, "key-b", &authv1.Principal{TenantId: "t2", KeyId: "k2"})
	call := func(method, key, path string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx(t), method, s.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return response{status: resp.StatusCode, header: resp.Header, bytes: b}
	}
	notFound := func(r response, param string) {
		t.Helper()
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.bytes)
		var e errorBody
		require.NoError(t, json.Unmarshal(r.bytes, &e), "%s", r.bytes)
		require.NotNil(t, e.Error.Param, "%s", r.bytes)
		require.Equal(t, param, *e.Error.Param)
	}

	created := post(t, s, "key-a", "/v1/responses", `{"model":"echo","store":true,"input":"kept for later"}`)
	require.Equal(t, http.StatusOK, created.status, "%s", created.bytes)
	var first struct {
		ID    string `json:"id"`
		Store bool   `json:"store"`
	}
	require.NoError(t, json.Unmarshal(created.bytes, &first))
	require.True(t, first.Store)

	got := call(http.MethodGet, "key-a", "/v1/responses/"+first.ID)
	require.Equal(t, http.StatusOK, got.status, "%s", got.bytes)
	require.JSONEq(t, string(created.bytes), string(got.bytes))

	notFound(call(http.MethodGet, "key-b", "/v1/responses/"+first.ID), "response_id")
	notFound(call(http.MethodDelete, "key-b", "/v1/responses/"+first.ID), "response_id")
	notFound(post(t, s, "key-b", "/v1/responses", `{"model":"echo","input":"x","previous_response_id":"`+first.ID+`"}`), "previous_response_id")

	chained := post(t, s, "key-a", "/v1/responses", `{"model":"echo","previous_response_id":"`+first.ID+`","input":[{"role":"assistant","content":"ok"}]}`)
	require.Equal(t, http.StatusOK, chained.status, "%s", chained.bytes)
	require.Contains(t, string(chained.bytes), `"text":"kept for later"`, "answered from the previous response's input")

	del := call(http.MethodDelete, "key-a", "/v1/responses/"+first.ID)
	require.Equal(t, http.StatusOK, del.status, "%s", del.bytes)
	require.JSONEq(t, `{"id":"`+first.ID+`","object":"response","deleted":true}`, string(del.bytes))
	notFound(call(http.MethodGet, "key-a", "/v1/responses/"+first.ID), "response_id")
}

// The same with openai-go: Store and PreviousResponseID on Responses.New,
// Responses.Get and Responses.Delete, and 404 for another tenant.
func TestSDKStoredResponses(t *testing.T) {
	s := newStackInf(t, nil, openai.Options{}, func(o *inferencetest.Options) { o.Keyvault = func(*inferencetest.FakeKeyvault) {} })
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "k1"})
	s.AddKey(t, "key-b", &authv1.Principal{TenantId: "t2", KeyId: "k2"})
	a, b := sdk(s, "key-a"), sdk(s, "key-b")

	first, err := a.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("first turn")}})
	require.NoError(t, err)
	require.Contains(t, first.RawJSON(), `"store":true`)
	next, err := a.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo", PreviousResponseID: oai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("noted", responses.EasyInputMessageRoleAssistant)}}})
	require.NoError(t, err)
	require.Equal(t, "first turn", next.OutputText(), "answered from the previous response's input")
	require.Equal(t, first.ID, next.PreviousResponseID)

	got, err := a.Responses.Get(ctx(t), first.ID, responses.ResponseGetParams{})
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, "first turn", got.OutputText())

	var apiErr *oai.Error
	_, err = b.Responses.Get(ctx(t), first.ID, responses.ResponseGetParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	require.ErrorAs(t, b.Responses.Delete(ctx(t), first.ID), &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	require.NoError(t, a.Responses.Delete(ctx(t), first.ID))
	_, err = a.Responses.Get(ctx(t), first.ID, responses.ResponseGetParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}
