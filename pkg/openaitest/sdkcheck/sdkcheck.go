package sdkcheck

import (
	"errors"
	"testing"

	oai "github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/require"
)

// RequireAPIError asserts that err, from a call made with openai-go, is
// OpenAI's API error of exactly this shape: HTTP status, type, code and
// param ("" when the body's param is null), with a message.
func RequireAPIError(t testing.TB, err error, status int, typ, code, param string) {
	t.Helper()
	_ = CheckAPIError(t, err, status, typ, code, param)
}

// CheckAPIError is RequireAPIError returning the SDK's error for more
// checks (the message, the response's headers).
func CheckAPIError(t testing.TB, err error, status int, typ, code, param string) *oai.Error {
	t.Helper()
	var apiErr *oai.Error
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.Equal(t, status, apiErr.StatusCode, apiErr.Message)
	require.Equal(t, typ, apiErr.Type, apiErr.Message)
	require.Equal(t, code, apiErr.Code)
	require.Equal(t, param, apiErr.Param)
	require.NotEmpty(t, apiErr.Message)
	return apiErr
}
