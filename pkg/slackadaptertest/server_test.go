package slackadaptertest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/pkg/slackadaptertest"
)

type fixture struct {
	*grpctest.Fixture
	srv *slackadaptertest.Server
}

func start(t *testing.T, o slackadaptertest.Options) *fixture {
	t.Helper()
	fx := grpctest.NewFixture(t, "slackadapter", "edge", "rampart-cli", "inference")
	o.Keys = fx.Keys()
	return &fixture{Fixture: fx, srv: slackadaptertest.Start(t, fx.Dir, o)}
}

func (f *fixture) client(t *testing.T, as string) slackadapterv1.SlackAdapterServiceClient {
	t.Helper()
	return slackadapterv1.NewSlackAdapterServiceClient(f.Dial(t, as, f.srv.Addr, "slackadapter"))
}

// TestScriptedAndRecorded: HandleEvent needs no principal (Slack signs its
// events); the script's answer comes back and the call is recorded with
// its caller and request.
func TestScriptedAndRecorded(t *testing.T) {
	f := start(t, slackadaptertest.Options{Script: func(c *slackadaptertest.Call) (proto.Message, error) {
		return &slackadapterv1.HandleEventResponse{StatusCode: 200, Body: []byte("ok " + c.Method)}, nil
	}})
	resp, err := f.client(t, "edge").HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{Path: "/slack/events", Body: []byte("{}")})
	require.NoError(t, err)
	require.Equal(t, "ok HandleEvent", string(resp.GetBody()))
	c, ok := f.srv.LastCall("HandleEvent")
	require.True(t, ok)
	require.Equal(t, "spiffe://rampart.local/svc/edge", c.Caller)
	require.Nil(t, c.Principal)
	ev, ok := c.Request.(*slackadapterv1.HandleEventRequest)
	require.True(t, ok)
	require.Equal(t, "/slack/events", ev.GetPath())

	f.srv.SetScript(func(*slackadaptertest.Call) (proto.Message, error) { return &slackadapterv1.GetAppResponse{}, nil })
	_, err = f.client(t, "edge").HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{})
	require.Equal(t, codes.Internal, status.Code(err), "a script answering the wrong type is a test bug, not a silent zero answer")
	f.srv.SetScript(nil)
	_, err = f.client(t, "edge").HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{})
	require.Equal(t, codes.Unimplemented, status.Code(err), "unscripted")
	require.Len(t, f.srv.Calls(), 3)
}

// TestCallersAndPrincipal: identities come from the permission table
// (narrowed by Options.Callers), assertions are verified where the table
// says the method needs one, and refused calls are not recorded.
func TestCallersAndPrincipal(t *testing.T) {
	f := start(t, slackadaptertest.Options{Script: func(*slackadaptertest.Call) (proto.Message, error) {
		return &slackadapterv1.ListInstallationsResponse{}, nil
	}})
	p := &authv1.Principal{TenantId: "t1"}
	_, err := f.client(t, "inference").ListInstallations(f.As(t, p), &slackadapterv1.ListInstallationsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "not in the table")
	_, err = f.client(t, "rampart-cli").HandleEvent(t.Context(), &slackadapterv1.HandleEventRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "HandleEvent is the edge's only")
	_, err = f.client(t, "edge").ListInstallations(t.Context(), &slackadapterv1.ListInstallationsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "no assertion")

	forger := grpctest.NewSigner(t, f.Signer.KID()) // the kid the double trusts, another key
	tok, err := forger.Sign(p, time.Time{})
	require.NoError(t, err)
	_, err = f.client(t, "edge").ListInstallations(metadata.AppendToOutgoingContext(t.Context(), principal.MetadataKey, tok), &slackadapterv1.ListInstallationsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "an assertion signed by another key")
	require.Empty(t, f.srv.Calls(), "refused calls are not served")

	_, err = f.client(t, "edge").ListInstallations(f.As(t, p, "x-request-id", "req-1"), &slackadapterv1.ListInstallationsRequest{})
	require.NoError(t, err)
	c, ok := f.srv.LastCall("ListInstallations")
	require.True(t, ok)
	require.Equal(t, "t1", c.Principal.GetTenantId())
	require.Equal(t, "req-1", c.RequestID)

	narrow := start(t, slackadaptertest.Options{Callers: []string{"rampart-cli"}})
	_, err = narrow.client(t, "edge").ListInstallations(narrow.As(t, p), &slackadapterv1.ListInstallationsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "outside Options.Callers")
}

// TestAppConfiguration: only the operator's CLI identity configures or
// reads the Slack app, as slackadapter's handlers allow.
func TestAppConfiguration(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	f := start(t, slackadaptertest.Options{Now: func() time.Time { return at }})
	cli := f.client(t, "rampart-cli")
	_, err := cli.GetApp(t.Context(), &slackadapterv1.GetAppRequest{})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "nothing configured yet")
	_, err = f.client(t, "edge").ConfigureApp(t.Context(), &slackadapterv1.ConfigureAppRequest{ClientId: "1.2"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), "the edge relays tenants' keys: refused")

	set, err := cli.ConfigureApp(t.Context(), &slackadapterv1.ConfigureAppRequest{ClientId: "1.2", ClientSecret: "c", SigningSecret: "s"})
	require.NoError(t, err)
	require.True(t, proto.Equal(&slackadapterv1.ConfigureAppResponse{ClientId: "1.2", UpdatedAt: at.Unix()}, set), "%v", set)
	got, err := cli.GetApp(t.Context(), &slackadapterv1.GetAppRequest{})
	require.NoError(t, err)
	require.Equal(t, "1.2", got.GetClientId())
	require.Equal(t, at.Unix(), got.GetUpdatedAt())
	c, ok := f.srv.LastCall("ConfigureApp")
	require.True(t, ok)
	require.Equal(t, "spiffe://rampart.local/svc/rampart-cli", c.Caller)
	req, ok := c.Request.(*slackadapterv1.ConfigureAppRequest)
	require.True(t, ok)
	require.Equal(t, "s", req.GetSigningSecret())
}
