package openai_test

import (
	"net/http"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
)

// storedScript answers the stored-response methods for "resp_1" as
// inference does (OpenAI's JSON), and NotFound naming response_id for any
// other id, as inference answers for another tenant's.
func storedScript(c *inferencetest.Call) inferencetest.Answer {
	if c.ID != "resp_1" {
		return inferencetest.Answer{Err: inferencetest.APIError{Code: codes.NotFound, Message: "No response found with id '" + c.ID + "'.",
			OpenAICode: "not_found", Type: "invalid_request_error", Param: "response_id"}.Err()}
	}
	const resp = `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"echo","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"kept","annotations":[]}]}],"store":true}`
	switch c.Method {
	case "GetResponse":
		return inferencetest.Answer{Body: []byte(resp)}
	case "DeleteResponse":
		return inferencetest.Answer{Body: []byte(`{"id":"resp_1","object":"response","deleted":true}`)}
	case "ListResponseInputItems":
		return inferencetest.Answer{Body: []byte(`{"object":"list","data":[{"type":"message","id":"msg_0","role":"user","content":[{"type":"input_text","text":"one"}]}],"first_id":"msg_0","last_id":"msg_0","has_more":false}`)}
	case "CancelResponse":
		return inferencetest.Answer{Err: inferencetest.APIError{Code: codes.InvalidArgument, Message: "Cannot cancel a synchronous response.",
			OpenAICode: "invalid_argument", Type: "invalid_request_error"}.Err()}
	}
	return inferencetest.Echo(c)
}

// The stored-response routes call their RPC with the id (and the list's
// after, order and limit) as the caller, and write inference's JSON or
// its NotFound in OpenAI's shape; what the edge checks itself (the id's
// length, limit a positive integer, after and order at most 256 bytes) is
// refused before inference is called. Storage, chaining and tenant
// isolation are inference's (tests/e2e TestOpenAIConformance/Stored*).
func TestStoredResponseRoutes(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "k1"})
	s.Inf.SetScript(storedScript)
	notFound := func(r response) {
		t.Helper()
		require.Equal(t, http.StatusNotFound, r.status, "%s", r.bytes)
		require.JSONEq(t, `{"error":{"message":"No response found with id 'resp_other'.","type":"invalid_request_error","param":"response_id","code":"not_found"}}`, string(r.bytes))
	}

	for _, path := range []string{"/v1/responses/resp_1", "/v1/responses/resp_1?stream=false"} {
		r := call(t, s, http.MethodGet, "key-a", path, "")
		require.Equal(t, http.StatusOK, r.status, "%s", r.bytes)
		require.Contains(t, string(r.bytes), `"text":"kept"`)
	}
	notFound(call(t, s, http.MethodGet, "key-a", "/v1/responses/resp_other", ""))

	r := call(t, s, http.MethodDelete, "key-a", "/v1/responses/resp_1", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.bytes)
	require.JSONEq(t, `{"id":"resp_1","object":"response","deleted":true}`, string(r.bytes))
	notFound(call(t, s, http.MethodDelete, "key-a", "/v1/responses/resp_other", ""))

	r = call(t, s, http.MethodGet, "key-a", "/v1/responses/resp_1/input_items?after=msg_9&order=asc&limit=3", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.bytes)
	got, _ := s.Inf.LastCall("ListResponseInputItems")
	req, _ := got.Request.(*inferencev1.ListResponseInputItemsRequest)
	require.Equal(t, "resp_1", req.GetId())
	require.Equal(t, "msg_9", req.GetAfter())
	require.Equal(t, "asc", req.GetOrder())
	require.Equal(t, int32(3), req.GetLimit())
	require.Equal(t, "k1", got.Principal.GetKeyId())

	r = call(t, s, http.MethodPost, "key-a", "/v1/responses/resp_1/cancel", "")
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.bytes)
	require.Contains(t, string(r.bytes), "Cannot cancel a synchronous response.")
	notFound(call(t, s, http.MethodPost, "key-a", "/v1/responses/resp_other/cancel", ""))

	n := len(s.Inf.Calls())
	for _, tc := range []struct{ path, param string }{
		{"/v1/responses/resp_1/input_items?limit=0", "limit"},
		{"/v1/responses/resp_1/input_items?limit=ten", "limit"},
		{"/v1/responses/resp_1/input_items?after=" + strings.Repeat("a", 257), "after"},
		{"/v1/responses/" + strings.Repeat("r", 300), "response_id"},
		// OpenAI streams only a background response again; Rampart runs
		// none, and the SDK would read a JSON body as an empty stream.
		{"/v1/responses/resp_1?stream=true", "stream"},
		{"/v1/responses/resp_1?stream=1", "stream"},
	} {
		r := call(t, s, http.MethodGet, "key-a", tc.path, "")
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tc.path, r.bytes)
		require.Contains(t, string(r.bytes), `"param":"`+tc.param+`"`)
	}
	require.Len(t, s.Inf.Calls(), n, "refused by the edge, not sent to inference")
}

// The same through openai-go: Get, Delete, InputItems.List and Cancel read
// what the edge writes, and a NotFound is the SDK's 404.
func TestSDKStoredResponses(t *testing.T) {
	s := newStack(t)
	s.AddKey(t, "key-a", &authv1.Principal{TenantId: "t1", KeyId: "k1"})
	s.Inf.SetScript(storedScript)
	a := sdk(s, "key-a")

	got, err := a.Responses.Get(ctx(t), "resp_1", responses.ResponseGetParams{})
	require.NoError(t, err)
	require.Equal(t, "kept", got.OutputText())
	page, err := a.Responses.InputItems.List(ctx(t), "resp_1", responses.InputItemListParams{Limit: oai.Int(1)})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	require.False(t, page.HasMore)
	require.NoError(t, a.Responses.Delete(ctx(t), "resp_1"))

	var apiErr *oai.Error
	_, err = a.Responses.Get(ctx(t), "resp_other", responses.ResponseGetParams{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	require.Equal(t, "response_id", apiErr.Param)
	_, err = a.Responses.Cancel(ctx(t), "resp_1")
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Equal(t, "Cannot cancel a synchronous response.", apiErr.Message)
}
