package gateway

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// decodeAsGateway decodes body into v with the mux's marshaler and maps
// the error as the generated handlers and the error handler do.
func decodeAsGateway(t *testing.T, body string, v any) *httperr.Error {
	t.Helper()
	m := fastJSON{&runtime.JSONPb{UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false}}}
	err := m.NewDecoder(strings.NewReader(body)).Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return httperr.FromGRPC(status.Errorf(codes.InvalidArgument, "%v", err))
}

// TestDecodeNamesTheField: a valid JSON value of the wrong type, or an
// enum name the field lacks, is a 400 invalid_argument naming the field
// (proto names, with its path) and what it must be; the value itself is
// not echoed except an enum's name. Other decode errors keep their codes.
func TestDecodeNamesTheField(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		msg   func() proto.Message
		code  string
		param string
		text  string // the whole message when code is invalid_argument
	}{
		{"int as string", `{"name":"a","top_k":"x"}`, asst, "invalid_argument", "top_k", "top_k: must be a 32-bit integer"},
		{"int by JSON name", `{"topK":1.5}`, asst, "invalid_argument", "top_k", "top_k: must be a 32-bit integer"},
		{"int out of range", `{"top_k":99999999999}`, asst, "invalid_argument", "top_k", "top_k: must be a 32-bit integer"},
		{"string as number", `{"name":5}`, asst, "invalid_argument", "name", "name: must be a string, not a number"},
		{"string as object", `{"name":{"a":[1,{"b":2}]}}`, asst, "invalid_argument", "name", "name: must be a string, not an object"},
		{"list as scalar", `{"collections":"handbook"}`, asst, "invalid_argument", "collections", "collections: must be an array, not a string"},
		{"list element", `{"collections":["a",2]}`, asst, "invalid_argument", "collections[1]", "collections[1]: must be a string, not a number"},
		{"double as bool", `{"min_score":true}`, asst, "invalid_argument", "min_score", "min_score: must be a number, not a boolean"},
		{"first in document order", `{"name":"a","description":false,"top_k":"x"}`, asst, "invalid_argument", "description", "description: must be a string, not a boolean"},
		{"nested", `{"name":"k","limits":{"requests_per_minute":"lots"}}`, createKey, "invalid_argument", "limits.requests_per_minute", "limits.requests_per_minute: must be a 64-bit integer"},
		{"message as string", `{"name":"k","limits":"none"}`, createKey, "invalid_argument", "limits", "limits: must be an object, not a string"},
		{"string value not echoed", `{"name":"k","ttl_seconds":"sk-secret-value"}`, createKey, "invalid_argument", "ttl_seconds", "ttl_seconds: must be a 64-bit integer"},
		{"unknown enum name", `{"collection":"c","query":"q","mode":"FUZZY"}`, search, "invalid_argument", "mode",
			`mode: must be one of SEARCH_MODE_UNSPECIFIED, SEARCH_MODE_HYBRID, SEARCH_MODE_LEXICAL, SEARCH_MODE_VECTOR, not "FUZZY"`},
		{"enum as bool", `{"mode":true}`, search, "invalid_argument", "mode",
			"mode: must be one of SEARCH_MODE_UNSPECIFIED, SEARCH_MODE_HYBRID, SEARCH_MODE_LEXICAL, SEARCH_MODE_VECTOR"},
		{"unknown field", `{"name":"a","bogus":1}`, asst, "unknown_field", "bogus", `unknown field "bogus" in request body`},
		{"unknown field with its path", `{"name":"k","limits":{"requests_per_minute":1,"rpm":2}}`, createKey, "unknown_field", "limits.rpm",
			`unknown field "limits.rpm" in request body`},
		{"unknown field after a good list", `{"name":"k","scopes":["a"],"limits":{"requests_per_minute":"5","tag":"x"}}`, createKey, "unknown_field", "limits.tag", ""},
		{"bad value before an unknown field", `{"name":5,"bogus":1}`, asst, "invalid_argument", "name", "name: must be a string, not a number"},
		{"unknown field before a bad value", `{"bogus":1,"name":5}`, asst, "unknown_field", "bogus", ""},
		{"malformed stays", `{"name":`, asst, "invalid_json", "", ""},
		{"not an object stays", `["a"]`, asst, "invalid_json", "", ""},
		{"not JSON at all", `not json`, asst, "invalid_json", "",
			"request body is not valid JSON for this endpoint: syntax error at byte 2: invalid character 'o' in literal null (expecting 'u')"},
		{"bad first character", `xx`, createKey, "invalid_json", "",
			"request body is not valid JSON for this endpoint: syntax error at byte 1: invalid character 'x' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeAsGateway(t, tt.body, tt.msg())
			require.NotNil(t, e)
			require.Equal(t, 400, e.Status)
			require.Equal(t, tt.code, e.Code, e.Message)
			require.Equal(t, tt.param, e.Param)
			if tt.text != "" {
				require.Equal(t, tt.text, e.Message)
			}
			require.NotContains(t, e.Message, "sk-secret-value")
		})
	}
}

// TestDecodeBodyField: a body: "assistant" route passes &req.Assistant
// (nil): the decoder allocates it, decodes a good body as before and
// names the field of a bad one.
func TestDecodeBodyField(t *testing.T) {
	var req inferencev1.CreateAssistantRequest
	require.Nil(t, decodeAsGateway(t, `{"name":"kb","top_k":"3","collections":["a"],"min_score":"0.5"}`, &req.Assistant))
	require.True(t, proto.Equal(&inferencev1.Assistant{Name: "kb", TopK: 3, Collections: []string{"a"}, MinScore: 0.5}, req.GetAssistant()))

	var bad inferencev1.CreateAssistantRequest
	e := decodeAsGateway(t, `{"name":"kb","top_k":"three"}`, &bad.Assistant)
	require.NotNil(t, e)
	require.Equal(t, "top_k", e.Param)
}

// TestDecodeAcceptsWhatProtojsonAccepts: the walk runs only when protojson
// refuses; bodies it takes decode as before.
func TestDecodeAcceptsWhatProtojsonAccepts(t *testing.T) {
	for _, body := range []string{
		`{"name":"k","ttl_seconds":"3600","limits":{"requests_per_minute":1e2}}`,
		`{"name":"k","limits":null,"scopes":null}`,
		`{}`,
	} {
		var got authv1.CreateKeyRequest
		require.Nil(t, decodeAsGateway(t, body, &got), body)
		var want authv1.CreateKeyRequest
		require.NoError(t, protojson.Unmarshal([]byte(body), &want))
		require.True(t, proto.Equal(&want, &got), body)
	}
}

func asst() proto.Message      { return &inferencev1.Assistant{} }
func createKey() proto.Message { return &authv1.CreateKeyRequest{} }
func search() proto.Message    { return &ingestionv1.SearchRequest{} }
