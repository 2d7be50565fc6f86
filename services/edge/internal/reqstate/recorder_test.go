package reqstate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

// TestRecorder: the State's own recorder serves the first caller, a
// second one (a nested access log) gets its own around the first, and
// each records the status and size it saw.
func TestRecorder(t *testing.T) {
	st, _ := reqstate.Ensure(httptest.NewRequest(http.MethodGet, "/", nil))
	out := httptest.NewRecorder()
	outer := st.Recorder(out)
	require.Same(t, &st.Response, outer)
	inner := st.Recorder(outer)
	require.NotSame(t, outer, inner)
	require.Same(t, outer, inner.Unwrap())

	require.False(t, inner.Wrote())
	n, err := inner.Write([]byte("hello"))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	for _, rec := range []*reqstate.Recorder{outer, inner} {
		require.True(t, rec.Wrote())
		require.Equal(t, http.StatusOK, rec.Status)
		require.EqualValues(t, 5, rec.Bytes)
	}
	require.Equal(t, "hello", out.Body.String())
}
