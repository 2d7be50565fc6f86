package reqstate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/services/edge/internal/reqstate"
)

func TestEnsureStoresOneState(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	require.Nil(t, reqstate.From(r.Context()))

	st, r2 := reqstate.Ensure(r)
	require.NotSame(t, r, r2, "the first Ensure stores the state in a copy")
	require.Same(t, st, reqstate.From(r2.Context()))

	st2, r3 := reqstate.Ensure(r2)
	require.Same(t, st, st2, "later middlewares share the state")
	require.Same(t, r2, r3, "and do not copy the request again")
}

func TestStateAnswersLoggingKeys(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	st, r := reqstate.Ensure(r)
	ctx := r.Context()
	require.Empty(t, logging.RequestID(ctx))
	require.Empty(t, logging.TenantID(ctx))

	st.RequestID, st.TenantID = "req-1", "t_alpha"
	require.Equal(t, "req-1", logging.RequestID(ctx))
	require.Equal(t, "t_alpha", logging.TenantID(ctx))

	// Contexts derived later (the gateway's, with deadlines) still see it
	// and still cancel with the request.
	parent, cancel := context.WithCancel(ctx)
	child, cancel2 := context.WithTimeout(parent, time.Minute)
	defer cancel2()
	require.Same(t, st, reqstate.From(child))
	require.Equal(t, "t_alpha", logging.TenantID(child))
	cancel()
	<-child.Done()
}
