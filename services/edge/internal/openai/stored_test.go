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
	"github.com/rampart-platform/rampart/pkg/keyvaulttest"
	"github.com/rampart-platform/rampart/services/edge/internal/openai"
	"github.com/rampart-platform/rampart/services/inference/inferencetest"
)

// Stored responses over HTTP: "store": true, previous_response_id,
// GET and DELETE /v1/responses/{id}, and 404 in OpenAI's error shape for
// another tenant's id.
func TestStoredResponsesHTTP(t *testing.T) {
	s := newStackInf(t, nil, openai.Options{}, func(o *inferencetest.Options) { o.Keyvault = func(*keyvaulttest.Server) {} })
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
	s := newStackInf(t, nil, openai.Options{}, func(o *inferencetest.Options) { o.Keyvault = func(*keyvaulttest.Server) {} })
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

// Input items and cancel with openai-go: InputItems.List pages through a
// stored response's conversation (default order desc, after, limit),
// ListAutoPaging follows has_more; Cancel of a response that was not
// created in the background is OpenAI's 400; another tenant's id is 404
// for both.
func TestSDKResponseInputItemsAndCancel(t *testing.T) {
	s := newStackInf(t, nil, openai.Options{}, func(o *inferencetest.Options) { o.Keyvault = func(*keyvaulttest.Server) {} })
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "k1"})
	s.AddKey(t, "key-b", &authv1.Principal{TenantId: "t2", KeyId: "k2"})
	a, b := sdk(s, "key-a"), sdk(s, "key-b")

	first, err := a.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true), Instructions: oai.String("be brief"),
		Input: responses.ResponseNewParamsInputUnion{OfString: oai.String("one")}})
	require.NoError(t, err)
	second, err := a.Responses.New(ctx(t), responses.ResponseNewParams{Model: "echo", Store: oai.Bool(true), PreviousResponseID: oai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("two", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfMessage("three", responses.EasyInputMessageRoleUser)}}})
	require.NoError(t, err)

	// The context the model saw: one, its answer, two, three (instructions
	// are not items); newest first by default.
	page, err := a.Responses.InputItems.List(ctx(t), second.ID, responses.InputItemListParams{Limit: oai.Int(3)})
	require.NoError(t, err)
	require.True(t, page.HasMore)
	text := func(it responses.ResponseItemUnion) string {
		require.Equal(t, "message", it.Type)
		var m struct {
			Role    string `json:"role"`
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		}
		require.NoError(t, json.Unmarshal([]byte(it.RawJSON()), &m))
		return m.Role + ":" + m.Content[0].Type + ":" + m.Content[0].Text
	}
	texts := func(items []responses.ResponseItemUnion) []string {
		var out []string
		for _, it := range items {
			out = append(out, text(it))
		}
		return out
	}
	require.Equal(t, []string{"user:input_text:three", "user:input_text:two", "assistant:output_text:one"}, texts(page.Data))
	next, err := page.GetNextPage()
	require.NoError(t, err)
	require.Equal(t, []string{"user:input_text:one"}, texts(next.Data))
	require.False(t, next.HasMore)

	var all []string
	iter := a.Responses.InputItems.ListAutoPaging(ctx(t), second.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc, Limit: oai.Int(1)})
	for iter.Next() {
		all = append(all, text(iter.Current()))
	}
	require.NoError(t, iter.Err())
	require.Equal(t, []string{"user:input_text:one", "assistant:output_text:one", "user:input_text:two", "user:input_text:three"}, all)

	var apiErr *oai.Error
	_, err = b.Responses.InputItems.List(ctx(t), second.ID, responses.InputItemListParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	_, err = a.Responses.Cancel(ctx(t), second.ID)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "Cannot cancel a synchronous response.", apiErr.Message)
	_, err = b.Responses.Cancel(ctx(t), second.ID)
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)

	_, err = a.Responses.InputItems.List(ctx(t), second.ID, responses.InputItemListParams{Order: "sideways"})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "order", apiErr.Param)
}
