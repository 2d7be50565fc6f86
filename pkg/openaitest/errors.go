package openaitest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// ErrorBody is OpenAI's error body, {"error": {...}}, as the edge and
// OpenAI answer it (and as a stream's error event carries it). Param is
// nil when the body's param is null.
type ErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    string  `json:"code"`
	} `json:"error"`
}

// RequireErrorBody asserts that an HTTP answer (status, header, body) is an
// OpenAI error: wantStatus, a JSON body with a message, type typ, a code,
// and param (JSON null when param is ""). It returns the body for more
// checks (the exact code, the message).
func RequireErrorBody(t testing.TB, status int, header http.Header, body []byte, wantStatus int, typ, param string) ErrorBody {
	t.Helper()
	require.Equal(t, wantStatus, status, string(body))
	require.Equal(t, "application/json", header.Get("Content-Type"))
	var e ErrorBody
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.NotEmpty(t, e.Error.Message)
	require.Equal(t, typ, e.Error.Type, string(body))
	require.NotEmpty(t, e.Error.Code)
	if param == "" {
		require.Nil(t, e.Error.Param)
	} else {
		require.NotNil(t, e.Error.Param)
		require.Equal(t, param, *e.Error.Param)
	}
	return e
}
