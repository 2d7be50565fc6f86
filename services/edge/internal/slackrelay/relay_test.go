package slackrelay_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/pkg/slackadaptertest"
	"github.com/rampart-platform/rampart/services/edge/internal/slackrelay"
)

func TestRelayForwardsRawBodyAndHeaders(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "edge")
	adapter := slackadaptertest.Start(t, dir, slackadaptertest.Options{Callers: []string{"edge"},
		Script: func(*slackadaptertest.Call) (proto.Message, error) {
			return &slackadapterv1.HandleEventResponse{StatusCode: 200, ContentType: "application/json", Body: []byte(`{"challenge":"c"}`)}, nil
		}})
	h := slackrelay.New(grpctest.Dial(t, dir, "edge", adapter.Addr, "slackadapter"))

	raw := "{\"type\":\"url_verification\",  \"challenge\":\"c\"}\n" // whitespace kept: the signature covers it
	req := httptest.NewRequest(http.MethodPost, "/slack/events?x=1", strings.NewReader(raw))
	req.Header.Set("X-Slack-Signature", "v0=abc")
	req.Header.Set("X-Slack-Request-Timestamp", "1800000000")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"challenge":"c"}`, rec.Body.String())

	call, ok := adapter.LastCall("HandleEvent")
	require.True(t, ok)
	require.Len(t, adapter.Calls(), 1)
	got, ok := call.Request.(*slackadapterv1.HandleEventRequest)
	require.True(t, ok)
	require.Equal(t, raw, string(got.GetBody()))
	require.Equal(t, "/slack/events", got.GetPath())
	require.Equal(t, "x=1", got.GetRawQuery())
	require.Equal(t, http.MethodPost, got.GetMethod())
	hdr := map[string]string{}
	for _, kv := range got.GetHeaders() {
		hdr[kv.GetName()] = kv.GetValue()
	}
	require.Equal(t, "v0=abc", hdr["X-Slack-Signature"])
	require.Equal(t, "1800000000", hdr["X-Slack-Request-Timestamp"])

	big := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(strings.Repeat("a", slackrelay.MaxBody+1)))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Len(t, adapter.Calls(), 1, "a body over the limit is not relayed")
}
