package slackrelay_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/pki/pkitest"
	"github.com/rampart-platform/rampart/services/edge/internal/slackrelay"
)

// adapter records what it was relayed and answers with a fixed response.
type adapter struct {
	slackadapterv1.UnimplementedSlackAdapterServiceServer
	got chan *slackadapterv1.HandleEventRequest
}

func (a *adapter) HandleEvent(_ context.Context, r *slackadapterv1.HandleEventRequest) (*slackadapterv1.HandleEventResponse, error) {
	a.got <- r
	return &slackadapterv1.HandleEventResponse{StatusCode: 200, ContentType: "application/json", Body: []byte(`{"challenge":"c"}`)}, nil
}

func TestRelayForwardsRawBodyAndHeaders(t *testing.T) {
	dir, _ := pkitest.NewDir(t, "slackadapter", "edge")
	srvSrc, err := mtls.NewSource(mtls.FilesFor(dir, "slackadapter"))
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.Creds(mtls.ServerCredentials(srvSrc)))
	a := &adapter{got: make(chan *slackadapterv1.HandleEventRequest, 1)}
	slackadapterv1.RegisterSlackAdapterServiceServer(gs, a)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	edgeSrc, err := mtls.NewSource(mtls.FilesFor(dir, "edge"))
	require.NoError(t, err)
	conn, err := mtls.Dial(context.Background(), lis.Addr().String(), edgeSrc, pki.ServiceID("slackadapter"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	h := slackrelay.New(conn)

	raw := "{\"type\":\"url_verification\",  \"challenge\":\"c\"}\n" // whitespace kept: the signature covers it
	req := httptest.NewRequest(http.MethodPost, "/slack/events?x=1", strings.NewReader(raw))
	req.Header.Set("X-Slack-Signature", "v0=abc")
	req.Header.Set("X-Slack-Request-Timestamp", "1800000000")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.JSONEq(t, `{"challenge":"c"}`, rec.Body.String())

	got := <-a.got
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
}
