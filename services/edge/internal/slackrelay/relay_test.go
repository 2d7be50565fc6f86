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
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"), "every relayed answer gets the page headers")
	require.Equal(t, "no-referrer", rec.Header().Get("Referrer-Policy"))

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

// TestRelayPassesOnlyTheInstallHeaders: the install start page redirects
// with a cookie; the adapter cannot set any other header on the edge's
// origin (ADR 0069 §3).
func TestRelayPassesOnlyTheInstallHeaders(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "edge")
	adapter := startRedirectingAdapter(t, dir)
	h := slackrelay.New(grpctest.Dial(t, dir, "edge", adapter.Addr, "slackadapter"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slack/oauth/start?state=s", nil))
	require.Equal(t, http.StatusSeeOther, rec.Code)
	require.Equal(t, "https://slack.example/oauth?state=s", rec.Header().Get("Location"))
	require.Equal(t, "__Host-rampart_slack_install=v; Path=/; HttpOnly; Secure; SameSite=Lax", rec.Header().Get("Set-Cookie"))
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	require.Equal(t, []string{"no-referrer"}, rec.Header().Values("Referrer-Policy"), "one value: the adapter's replaces the page default")
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"), "an HTML page is never framed (ADR 0129)")
	for _, name := range []string{"Access-Control-Allow-Origin", "Content-Security-Policy", "X-Rampart-Principal", "Strict-Transport-Security"} {
		require.Empty(t, rec.Header().Values(name), name)
	}
}

func startRedirectingAdapter(t *testing.T, dir string) *slackadaptertest.Server {
	t.Helper()
	return slackadaptertest.Start(t, dir, slackadaptertest.Options{Callers: []string{"edge"},
		Script: func(*slackadaptertest.Call) (proto.Message, error) {
			hdr := func(n, v string) *slackadapterv1.Header { return &slackadapterv1.Header{Name: n, Value: v} }
			return &slackadapterv1.HandleEventResponse{StatusCode: http.StatusSeeOther, ContentType: "text/html", Headers: []*slackadapterv1.Header{
				hdr("location", "https://slack.example/oauth?state=s"),
				hdr("Set-Cookie", "__Host-rampart_slack_install=v; Path=/; HttpOnly; Secure; SameSite=Lax"),
				hdr("Cache-Control", "no-store"), hdr("Referrer-Policy", "no-referrer"),
				hdr("Access-Control-Allow-Origin", "*"), hdr("Content-Security-Policy", "none"),
				hdr("X-Rampart-Principal", "forged"), hdr("Strict-Transport-Security", "max-age=0"),
			}}, nil
		}})
}
